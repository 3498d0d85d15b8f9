"""The ingest API (`/v1/ingest`, `/v1/ingest/multi`, `/v1/ingest/vogent-raw`, records read-back).

Empty on purpose: each function imports only the modules it needs, so a cold start never pays
for another endpoint's models.
"""
