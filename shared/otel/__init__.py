"""OpenTelemetry in: OTLP/HTTP `POST /v1/traces`, `/v1/metrics`, `/v1/logs`.

protocol (decode requests, encode answers), attributes (OTLP values to Python), mapping (a span to
records), policy (limits), traces (the trace → conversation map), service (one export, end to
end), endpoints (the routes). Only the OTel functions import this package: protobuf stays out of
the other functions' cold start.
"""
