"""DuckDB `fts` against tantivy on the search corpus (bench/search_corpus.py): the measurement
that chose the index (docs/search.md). Same analysis on both sides as far as each engine allows:
lower case, accents folded, English Snowball stemming, CJK characters as single terms.

    python -m bench.search_engines   # prints both engines' build time and query latencies
"""

from __future__ import annotations

import importlib.metadata
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import tantivy

from bench import search_corpus

QUERIES = [  # one- and two-word queries, each with a filter
    ("refund", "environment", "production"),
    ("password", "role", "user"),
    ("invoice", "source", "email"),
    ("remboursement", "environment", "production"),
    ("退款", "environment", "production"),
    ("refund card", "environment", "production"),
    ("cancel subscription", "role", "user"),
    ("delivery late", "model", "gpt-4o"),
    ("заказ возврат", "environment", "staging"),
    ("café commande", "source", "chat"),
]
ROUNDS = 5


def fts_extension() -> str:
    """The fts extension file inside the duckdb-ext-fts package (pinned to DuckDB's version)."""
    files = importlib.metadata.files("duckdb-ext-fts") or []
    wanted = f"extensions/v{duckdb.__version__}/"
    found = next(f for f in files if wanted in str(f) and f.name == "fts.duckdb_extension")
    return str(found.locate())


def fts_connect(path: Path) -> duckdb.DuckDBPyConnection:
    db = duckdb.connect(
        str(path),
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    db.execute(f"LOAD '{fts_extension()}'")
    return db


# CJK characters become single terms: a space around each, before fts' own tokenizer.
_CJK = r"([\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}])"


def fts_build(lake: Path, out: Path) -> float:
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    db = fts_connect(out)
    db.execute(
        f"""CREATE TABLE docs AS SELECT row_number() OVER () AS doc, record_id, conversation_id,
        source, role, environment, model, ts, text,
        regexp_replace(text, '{_CJK}', ' \\1 ', 'g') AS terms
        FROM read_parquet('{lake}/records/*/*/*.parquet')"""
    )
    db.execute(
        "PRAGMA create_fts_index('docs', 'doc', 'terms', stemmer = 'english', "
        "stopwords = 'none', ignore = '[^\\p{L}\\p{N}]+', strip_accents = 1, lower = 1)"
    )
    db.close()
    return time.perf_counter() - started


def fts_query(db: duckdb.DuckDBPyConnection, q: str, field: str, value: str) -> list[str]:
    terms = duckdb.execute("SELECT regexp_replace(?, ?, ' \\1 ', 'g')", [q, _CJK]).fetchone()
    rows = db.execute(
        f"""SELECT record_id, score FROM (
            SELECT record_id, {field}, fts_main_docs.match_bm25(doc, ?, conjunctive := 1) AS score
            FROM docs) WHERE score IS NOT NULL AND {field} = ?
            ORDER BY score DESC LIMIT 20""",
        [terms[0] if terms else q, value],
    ).fetchall()
    return [r[0] for r in rows]


def tantivy_analyzer() -> tantivy.TextAnalyzer:

    return (
        tantivy.TextAnalyzerBuilder(
            tantivy.Tokenizer.regex(
                r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]|[\p{L}\p{N}\p{M}--\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]+"
            )
        )
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def tantivy_schema() -> tantivy.Schema:

    b = tantivy.SchemaBuilder()
    b.add_text_field("text", stored=False, tokenizer_name="parley", index_option="position")
    for name in ("record_id", "conversation_id", "source", "role", "environment", "model"):
        b.add_text_field(name, stored=name == "record_id", tokenizer_name="raw", fast=True)
    b.add_integer_field("ts", stored=False, fast=True, indexed=True)
    return b.build()


def tantivy_build(lake: Path, out: Path) -> float:

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    index = tantivy.Index(tantivy_schema(), path=str(out))
    index.register_tokenizer("parley", tantivy_analyzer())
    writer = index.writer(heap_size=512_000_000, num_threads=2)
    reader = duckdb.execute(
        f"""SELECT record_id, conversation_id, source, role, environment, model,
        epoch_us(ts), text FROM read_parquet('{lake}/records/*/*/*.parquet')"""
    )
    while batch := reader.fetchmany(50_000):
        for rid, conv, source, role, env, model, ts, text in batch:
            writer.add_document(
                tantivy.Document(
                    record_id=rid,
                    conversation_id=conv,
                    source=source,
                    role=role or "",
                    environment=env or "",
                    model=model or "",
                    ts=ts,
                    text=text,
                )
            )
    writer.commit()
    writer.wait_merging_threads()
    return time.perf_counter() - started


def tantivy_open(out: Path) -> tantivy.Index:

    index = tantivy.Index.open(str(out))
    index.register_tokenizer("parley", tantivy_analyzer())
    return index


def tantivy_query(
    index: tantivy.Index, analyzer: tantivy.TextAnalyzer, q: str, field: str, value: str
) -> list[str]:

    schema = index.schema
    must = []
    for word in q.split():
        terms = analyzer.analyze(word)
        if len(terms) == 1:
            must.append((tantivy.Occur.Must, tantivy.Query.term_query(schema, "text", terms[0])))
        else:
            words: list[str | tuple[int, str]] = list(terms)
            must.append((tantivy.Occur.Must, tantivy.Query.phrase_query(schema, "text", words)))
    must.append((tantivy.Occur.Must, tantivy.Query.term_query(schema, field, value)))
    searcher = index.searcher()
    result = searcher.search(tantivy.Query.boolean_query(must), limit=20)
    return [searcher.doc(addr)["record_id"][0] for _, addr in result.hits]


def timed(run: Callable[[str, str, str], object]) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        for q in QUERIES:
            started = time.perf_counter()
            run(*q)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def cold(engine: str, path: Path) -> float:
    """A fresh interpreter: import, open, first query (parent-timed, like a Lambda cold start)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bench.search_engines", "--first-query", engine, str(path)],
        check=True,
    )
    return time.perf_counter() - started


def p(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1]


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--first-query":
        engine, path = sys.argv[2], Path(sys.argv[3])
        if engine == "fts":
            fts_query(fts_connect(path), *QUERIES[0])
        else:
            index = tantivy_open(path)
            tantivy_query(index, tantivy_analyzer(), *QUERIES[0])
        return
    lake = search_corpus.ensure_corpus()
    work = search_corpus.corpus_dir()
    tv_path, fts_path = work / "tantivy-bench", work / "fts-bench.duckdb"
    tv_build = tantivy_build(lake, tv_path)
    print(f"tantivy build {tv_build:.1f} s", flush=True)
    index = tantivy_open(tv_path)
    analyzer = tantivy_analyzer()
    for q in QUERIES:
        print("  tantivy", q, len(tantivy_query(index, analyzer, *q)))
    tv = timed(lambda q, f, v: tantivy_query(index, analyzer, q, f, v))
    print(f"tantivy p50 {p(tv, 50):.1f} ms p95 {p(tv, 95):.1f} ms", flush=True)
    print(f"tantivy cold first query {cold('tantivy', tv_path):.2f} s", flush=True)
    fts_b = fts_build(lake, fts_path)
    print(f"fts build {fts_b:.1f} s", flush=True)
    db = fts_connect(fts_path)
    for q in QUERIES:
        print("  fts", q, len(fts_query(db, *q)))
    fs = timed(lambda q, f, v: fts_query(db, q, f, v))
    print(f"fts p50 {p(fs, 50):.1f} ms p95 {p(fs, 95):.1f} ms", flush=True)
    db.close()
    print(f"fts cold first query {cold('fts', fts_path):.2f} s", flush=True)


if __name__ == "__main__":
    main()
