"""The analytics lake: every stored message as a Parquet row, partitioned by tenant and day
(docs/lake.md).

Empty on purpose: DuckDB ships in its own layer (LakeLayer), so only the modules that write or
read Parquet import it.
"""
