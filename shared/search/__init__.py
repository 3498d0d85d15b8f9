"""Full-text search over the lake (docs/search.md): a tantivy index per tenant built from the
compacted Parquet partitions, plus the not-yet-compacted tail scanned with DuckDB."""
