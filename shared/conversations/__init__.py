"""The conversations API (`/api/v1/conversations…`; docs/conversations-api.md), in the
project's layers: `endpoints` (HTTP → domain objects), `service` (create, append, get, list,
insights), `store` (ConversationsTable, one module per job), `models` (domain objects and
request models), `views` (answers); plus `content` (the `content` field's two formats),
`limits` (sizes) and `ids`. The Converra SDK's routes (shared/runs) drive the same service."""
