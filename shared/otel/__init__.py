"""OpenTelemetry in: OTLP/HTTP `POST /v1/traces`, `/v1/metrics`, `/v1/logs`.

endpoints (the routes), protocol (decoding a request in either encoding), views (the answers),
service (one export, end to end: map the spans, resolve conversations, store), store (the
trace → conversation map), models (spans, records, the request's facts), and the mapping of a
span: spans (walking a request), attributes (OTLP values and JSON in attributes to Python),
semconv (the attributes read), conversations (the conversation a span names), messages (flat
and structured messages), records (a span's records), ids (their ids), policy (limits).
Only the OTel functions import this package: protobuf stays out of the other functions' cold
start.
"""
