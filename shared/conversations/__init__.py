"""The conversations API (`/api/v1/conversations…`, seed 004, CONTRACT §3): models, content
parsing, limits, the store (ConversationsTable), the service and the endpoints."""
