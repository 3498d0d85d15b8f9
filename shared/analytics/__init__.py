"""Analytics over the Parquet lake: `GET /api/v1/analytics` (docs/analytics.md)."""
