"""Converra's route family (`/api/v1/runs…`, `/api/v1/sdk/…`): what the official `converra`
Python SDK (0.5.1) calls, served as the same operations on the same data as the conversations
API. A run *is* a conversation: created here, it reads back on `/api/v1/conversations/{id}`.

Layers: `endpoints` (the runs routes, on the conversations service), `models` (the SDK's
bodies → conversations domain objects), `views` (the `{"data": ...}` answers),
`sdk_endpoints` (`/api/v1/sdk/…`: kept apart so those functions load no conversations code).

What the SDK does on the wire (read from its source, `converra/_api.py`, `_client.py`,
`_transport.py`, `_capture.py`, `_variant_resolver.py`, `_insights.py`):

- Base URL: `Converra(base_url=...)`, else `CONVERRA_BASE_URL`, else
  `https://converra.ai/api/v1`; trailing `/` stripped; paths are appended to it, so it must
  end in `/api/v1`. Key: `api_key=` or `CONVERRA_API_KEY`, sent as
  `Authorization: Bearer <key>` with `Content-Type: application/json` on every call.
- Any status >= 400, a transport error or a body that is not JSON counts as a failure
  (`None`); `send()` then raises `ConverraError(code="REQUEST_FAILED")`. It never retries and
  never reads an error body. Every success is read as `{"data": ...}`.
- `init()`: `GET /sdk/config`, reads `data.testingMode` ("proxy" | "simulation"),
  `captureEnabled`, `activeOptimizations`, `agentHashes` (or legacy `promptHashes`:
  {sha256 of normalized system prompt: agentId}) to seed its agent cache.
- `send(agent, messages, ...)` without `conversation_id`: `POST /runs` with `agentName`,
  `content` (the messages rendered `User: ...` for user turns and `AI: ...` for every other
  non-system turn), `messages` (dicts as the caller gave them, or its dataclasses serialized
  with camelCase `toolCalls`, `latencyMs`, `usage.promptTokens/completionTokens`), `status`
  (default "completed"), `metadata` (with `source: "sdk"` added), and when given `sessionId`,
  `userId`, `title`, `toolDefinitions` ([{name, description?, parameters?}]), `traceId`,
  `parentTraceId`. Reads `data.id`; a success without it is `INVALID_RESPONSE`.
- `send(..., conversation_id=id)`: `POST /runs/{id}/messages` with `messages` and when given
  `status`, `sessionId`, `metadata`, `toolDefinitions`. Reads nothing but the 2xx.
- Wrapped OpenAI/Anthropic clients (`converra.wrap(client)`): after each completion a
  background thread posts `POST /runs` with `content`, `userId: "sdk"`, `agentId` (only when
  the system prompt matched an agent or `wrap(agent_id=...)`), `sessionId`/`traceId`/
  `parentTraceId` when set, `status: "completed"`, `llmModel`, `messages` (the request's
  messages plus the reply, `model` and `usage` on the reply; the reply is `""` when the model
  only called tools) and `metadata` ({source, model, variantId, optimizationId, assignment},
  nulls included). The response is ignored entirely, failures included: a refused capture is
  lost without a trace, so this family accepts every shape that path produces.
- Before each wrapped call with a system prompt it looks the prompt up: cached hash from
  `agentHashes`, else `POST /sdk/agents/match {"content": <prompt>}` (0.5 s timeout), reading
  `data.agentId` (or legacy `promptId`), `name`, `contentHash`, `matched`; no agent id = no
  match (not cached, so it asks again next call). Only in "proxy" testing mode does it then ask
  `GET /sdk/agents/{id}/active-variant`.
- `get_run_insights(id)`: `GET /runs/{id}/insights`; `data.metrics` an object → full insights
  (many required fields); otherwise the lifecycle form `{"conversationId", "status": "pending"
  | "skipped" | "failed", "message"?, "code"?, "reason"?, "retryCount"?, "nextRetryAt"?}`.
  Anything else raises `ConverraError(code="INVALID_RESPONSE")`.
"""
