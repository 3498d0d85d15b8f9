"""`parley` commands that talk HTTP to a Parley API (through devtools.client).

    parley ingest FILE.jsonl|FILE.json|-   [--environment staging] [--refused refused.jsonl]
    parley conversations list [--environment …] [--source …] [--since DATE] [--until DATE]
    parley conversations get CONVERSATION_ID
    parley records CONVERSATION_ID [--format json|jsonl|table]
    parley export --since DATE [--until DATE] [-o FILE]
    parley export --format parquet --since DATE [--until DATE] --out DIR
    parley search "refund" [--since DATE] [--until DATE] [--environment …] [--json]

Where: --url / PARLEY_URL and --key / PARLEY_KEY; without them, the running `make dev` (its
state file holds its URL and its first key).

Both APIs in one view: `conversations list` and `export` walk the ingest API's conversations,
then the conversations API's (GET /api/v1/conversations; `--environment`/`--source` apply to
ingest conversations only, so with either of them the conversations API's are left out).

Exit codes: 0 done; 1 the API or the network failed, or the id is unknown; 2 bad usage or
configuration, or nothing answers at the URL (checked once before any retry loop);
3 ingest finished but some events were refused (they are in the --refused file);
141 the reader of standard output went away (`parley … | head`), quietly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from devtools.client import ParleyClient, ParleyError, Refused, Unreachable, read_events
from devtools.local import running_dev_server, state_file

URL_VAR = "PARLEY_URL"
KEY_VAR = "PARLEY_KEY"
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `yes | head` reports
PROGRESS_EVERY = 10.0  # seconds between progress lines when stderr is not a terminal
SEARCH_DEPTH = 10_000  # GET /v1/search pages through this many hits at most (docs/search.md)
ROUTES = {
    "ingest": "/v1/ingest",
    "multi": "/v1/ingest/multi",
    "vogent-raw": "/v1/ingest/vogent-raw",
}


class UsageError(Exception):
    """Reported in one line, exit code 2."""


@dataclass(frozen=True)
class Api:
    url: str
    key: str


def resolve_api(args: argparse.Namespace) -> Api:
    url = (args.url or os.environ.get(URL_VAR, "")).strip()
    key = (args.key or os.environ.get(KEY_VAR, "")).strip()
    if not url or not key:
        running = running_dev_server(state_file())
        if running is None:
            missing = " and ".join(
                n for n, v in ((f"--url/{URL_VAR}", url), (f"--key/{KEY_VAR}", key)) if not v
            )
            raise UsageError(f"set {missing}, or start `make dev` (the CLI then finds it)")
        url = url or running.base_url
        key = key or running.api_key
        if not key:
            raise UsageError(f"set --key or {KEY_VAR} (this `make dev` recorded no key)")
    return Api(url, key)


def _client(args: argparse.Namespace, **kwargs: Any) -> ParleyClient:
    api = resolve_api(args)
    client = ParleyClient(api.url, api.key, **kwargs)
    client.check_reachable()
    return client


class ProgressLines:
    """Progress for a log: a plain line every PROGRESS_EVERY seconds (no `\r` frames)."""

    def __init__(self, total: int | None, unit: str, out: TextIO) -> None:
        self.total, self.unit, self.out = total, unit, out
        self.done = 0
        self.started = self.shown = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.shown >= PROGRESS_EVERY:
            self.shown = now
            of = f" of {self.total:,}" if self.total else ""
            rate = self.done / max(now - self.started, 1e-9)
            print(f"{self.done:,}{of} {self.unit}s ({rate:,.0f}/s)", file=self.out, flush=True)

    def __enter__(self) -> ProgressLines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(args: argparse.Namespace, total: int | None, unit: str) -> Any:
    """A bar on a terminal; plain periodic lines when stderr goes to a file or a pipe."""
    if not args.quiet and not sys.stderr.isatty():
        return ProgressLines(total, unit, sys.stderr)
    from tqdm import tqdm  # imported only by the commands that draw a bar

    return tqdm(
        total=total,
        unit=unit,
        unit_scale=True,
        dynamic_ncols=True,
        file=sys.stderr,
        disable=args.quiet,
        smoothing=0.1,
    )


# --- ingest ------------------------------------------------------------------------------------


def count_lines(path: Path) -> int:
    """Non-blank lines, for the bar's total and ETA (read in chunks: bounded memory)."""
    count = 0
    with path.open("rb") as stream:
        for line in stream:
            if line.strip():
                count += 1
    return count


def cmd_ingest(args: argparse.Namespace) -> int:
    client = _client(args, route=ROUTES[args.route], environment=args.environment)
    source = args.file
    key_seed: str | None = None
    if source == "-":
        events: Iterator[Any] = read_events(sys.stdin)
        total = None
        refused_path = Path(args.refused or "refused.jsonl")
    else:
        path = Path(source)
        if not path.is_file():
            raise UsageError(f"no such file: {source}")
        events = read_events(path)
        total = count_lines(path) if path.suffix != ".json" else None
        refused_path = Path(args.refused or f"{path}.refused.jsonl")
        key_seed = _file_digest(path)

    refused_file: IO[str] | None = None

    def on_refused(refused: Refused) -> None:
        nonlocal refused_file
        if refused_file is None:
            refused_file = refused_path.open("w", encoding="utf-8")
        line = {"index": refused.index, "field": refused.field, "message": refused.message}
        refused_file.write(json.dumps({**line, "event": refused.event}, ensure_ascii=False) + "\n")

    try:
        with _progress(args, total, "event") as bar:
            result = client.push(
                events, on_refused=on_refused, on_progress=bar.update, key_seed=key_seed
            )
    finally:
        if refused_file is not None:
            refused_file.close()
    print(
        f"Stored {result.events_sent:,} events ({result.stored:,} records) in "
        f"{result.batches:,} requests ({result.retries:,} retries); refused {result.refused:,}.",
        file=sys.stderr,
    )
    if result.replayed:
        print(
            f"{result.replayed:,} chunks ({result.events_replayed:,} events) were already sent "
            "(replayed): nothing stored twice.",
            file=sys.stderr,
        )
    if result.refused:
        print(f"Refused events and why: {refused_path}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


def _file_digest(path: Path) -> str:
    """The file's SHA-256: with each chunk's body, it makes the chunk's Idempotency-Key."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- reading back ------------------------------------------------------------------------------


def _api_conversations(client: ParleyClient, args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """The conversations API's conversations within --since/--until (by createdAt); none when
    an ingest-only filter (--environment, --source) is given."""
    if getattr(args, "environment", None) or getattr(args, "source", None):
        return
    since, until = args.since or "", args.until or ""
    for conversation in client.api_conversations():
        created = str(conversation.get("createdAt") or "")
        if since and created < since:
            continue
        if until and created[: len(until)] > until:
            continue
        yield conversation


def cmd_conversations_list(args: argparse.Namespace) -> int:
    client = _client(args)
    filters = {
        "environment": args.environment or "",
        "source": args.source or "",
        "since": args.since or "",
        "until": args.until or "",
    }
    rows: list[tuple[str, ...]] = [
        ("CONVERSATION", "API", "LAST ACTIVITY", "RECORDS", "SOURCES", "ENV", "TITLE")
    ]
    shown = 0
    for conversation in client.conversations(**filters):
        if args.limit and shown >= args.limit:
            break
        shown += 1
        if args.json:
            print(json.dumps({**conversation, "api": "ingest"}), flush=True)
        else:
            rows.append(
                (
                    conversation["conversationId"],
                    "ingest",
                    conversation["lastActivityAt"],
                    str(conversation["recordCount"]),
                    ",".join(conversation["sources"]),
                    conversation["environment"],
                    "",
                )
            )
    for conversation in _api_conversations(client, args):
        if args.limit and shown >= args.limit:
            break
        shown += 1
        if args.json:
            print(json.dumps({**conversation, "api": "conversations"}), flush=True)
        else:
            # RECORDS: its message count; SOURCES: its status (this API has no record sources).
            count = conversation.get("messageCount")
            rows.append(
                (
                    conversation["id"],
                    "conversations",
                    conversation["createdAt"],
                    "" if count is None else str(count),
                    str(conversation.get("status") or ""),
                    "",
                    str(conversation.get("title") or ""),
                )
            )
    if not args.json:
        _table(rows, sys.stdout)
    return 0


def cmd_conversations_get(args: argparse.Namespace) -> int:
    """A conversations-API conversation, or else an ingest conversation's records."""
    client = _client(args)
    quoted = args.conversation_id.replace("/", "%2F")
    try:
        conversation = client.get(f"/api/v1/conversations/{quoted}")
    except ParleyError as exc:
        if exc.status not in (400, 404):  # 400: not a conversations-API id at all
            raise
        records = list(client.records(args.conversation_id))
        if not records:
            raise ParleyError(f"no conversation {args.conversation_id!r}", 404) from None
        conversation = {"conversationId": args.conversation_id, "records": records}
    print(json.dumps(conversation, indent=2, ensure_ascii=False))
    return 0


def cmd_records(args: argparse.Namespace) -> int:
    records = list(_client(args).records(args.conversation_id))
    if not records:
        raise ParleyError(f"no records for conversation {args.conversation_id!r}", 404)
    if args.format == "jsonl":
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
        return 0
    if args.format == "json":
        print(json.dumps(list(records), indent=2, ensure_ascii=False))
        return 0
    rows: list[tuple[str, ...]] = [("TIMESTAMP", "SOURCE", "ROLE", "MESSAGE")]
    for record in records:
        text = str(record.get("message") or record.get("tool_name") or "")
        rows.append(
            (
                record["timestamp"],
                record["message_source"],
                str(record.get("role") or ""),
                " ".join(text.split())[:80],
            )
        )
    _table(rows, sys.stdout)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.format == "parquet":
        return export_parquet(args)
    client = _client(args)
    output: AbstractContextManager[TextIO] = (
        nullcontext(sys.stdout) if args.output in (None, "-") else open(args.output, "w")  # noqa: SIM115
    )
    conversations = records = 0
    with output as out, _progress(args, None, "record") as bar:
        for conversation in client.every_conversation(
            since=args.since, until=args.until or "", environment=args.environment or ""
        ):
            conversations += 1
            for record in client.records(conversation["conversationId"]):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                records += 1
                bar.update(1)
        # The conversations API's conversations: one line each, the GET /api/v1/conversations/{id}
        # body (an `id` and its `messages`; ingest records carry `conversation_id` instead).
        for listed in _api_conversations(client, args):
            conversations += 1
            conversation = client.get(
                f"/api/v1/conversations/{listed['id']}", {"includeInsights": "true"}
            )
            out.write(json.dumps(conversation, ensure_ascii=False) + "\n")
            records += 1
            bar.update(1)
    where = "" if args.output in (None, "-") else f" to {args.output}"
    print(
        f"Exported {records:,} records of {conversations:,} conversations{where}.", file=sys.stderr
    )
    return 0


def export_parquet(args: argparse.Namespace) -> int:
    """The tenant's lake partitions into DIR/date=YYYY-MM-DD/… (Hive style, as in the lake):
    GET /v1/lake/files names each file with a URL (presigned S3 on AWS, file:// on make dev)."""
    import shutil
    import urllib.parse
    import urllib.request

    if not args.out:
        raise UsageError("--format parquet writes a folder: give it with --out DIR")
    out = Path(args.out)
    client = _client(args)
    files = written = 0
    with _progress(args, None, "B") as bar:
        for file in client.lake_files(since=args.since[:10], until=(args.until or "")[:10]):
            name = Path(file["name"]).name  # a bare file name: never a path out of DIR
            target = out / f"date={Path(file['date']).name}" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            url = urllib.parse.urlsplit(file["url"])
            partial = target.with_name(f".{name}.part")
            if url.scheme == "file":
                shutil.copyfile(urllib.request.url2pathname(url.path), partial)
            elif url.scheme in ("http", "https"):
                fetched = urllib.request.urlopen(file["url"], timeout=60)  # noqa: S310
                with fetched as answer, partial.open("wb") as sink:
                    shutil.copyfileobj(answer, sink)
            else:
                raise ParleyError(f"unexpected file URL scheme {url.scheme!r}")
            partial.replace(target)
            files += 1
            written += target.stat().st_size
            bar.update(target.stat().st_size)
    print(f"Exported {files:,} Parquet files ({written:,} bytes) to {out}.", file=sys.stderr)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Every hit, page after page: a table (the snippet on one line) or JSON lines."""
    filters = {
        "environment": args.environment or "",
        "source": args.source or "",
        "role": args.role or "",
        "model": args.model or "",
        "conversationId": args.conversation or "",
        "since": args.since or "",
        "until": args.until or "",
        "sort": args.sort,
    }
    for pair in args.metadata or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--metadata takes KEY=VALUE (got {pair!r})")
        filters[f"metadata.{key}"] = value
    rows: list[tuple[str, ...]] = [("TIMESTAMP", "CONVERSATION", "ROLE", "SNIPPET")]
    hits = 0
    for hit in _client(args).search(args.query, **filters):
        hits += 1
        if args.json:
            print(json.dumps(hit, ensure_ascii=False))
        else:
            snippet = " ".join(hit["snippet"].split())
            rows.append((hit["timestamp"], hit["conversationId"], hit["role"] or "", snippet))
    if not args.json:
        _table(rows, sys.stdout)
        print(f"{hits:,} hits.", file=sys.stderr)
    if hits >= SEARCH_DEPTH:
        print(f"(a search pages through its best {SEARCH_DEPTH:,}; narrow it)", file=sys.stderr)
    return 0


def _table(rows: list[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


# --- parsing -----------------------------------------------------------------------------------


def add_commands(commands: Any) -> None:
    """Add the API commands to `parley`'s subparsers."""
    api = argparse.ArgumentParser(add_help=False)
    group = api.add_argument_group("which API")
    group.add_argument("--url", help=f"base URL (default: ${URL_VAR}, else the running make dev)")
    group.add_argument("--key", help=f"API key (default: ${KEY_VAR}, else make dev's first key)")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    def command(parser: Any, name: str, help: str, run: Callable[[argparse.Namespace], int]) -> Any:
        sub = parser.add_parser(name, parents=[api], help=help, description=help)
        sub.set_defaults(run_api=run)
        return sub

    ingest = command(
        commands, "ingest", "load events from a file through the ingest API", cmd_ingest
    )
    ingest.add_argument("file", metavar="FILE", help="events: .jsonl (one per line), .json, or -")
    ingest.add_argument("--environment", help="production, staging or development")
    ingest.add_argument("--route", choices=sorted(ROUTES), default="ingest", help="which endpoint")
    ingest.add_argument("--refused", help="where refused events go (default: FILE.refused.jsonl)")

    conversations = commands.add_parser("conversations", help="list or show conversations")
    actions = conversations.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = command(
        actions,
        "list",
        "list conversations of both APIs (ingest: newest first; then the conversations API's)",
        cmd_conversations_list,
    )
    listing.add_argument("--environment")
    listing.add_argument("--source", help="chat, channel, email, call or tool_call")
    listing.add_argument("--since", help="date or UTC time, inclusive")
    listing.add_argument("--until", help="date or UTC time, inclusive")
    listing.add_argument("--limit", type=int, default=0, help="at most this many (default: all)")
    listing.add_argument("--json", action="store_true", help="JSON lines")
    get = command(
        actions, "get", "show one conversation (either API) as JSON", cmd_conversations_get
    )
    get.add_argument("conversation_id", metavar="CONVERSATION_ID")

    records = command(commands, "records", "print a conversation's stored records", cmd_records)
    records.add_argument("conversation_id", metavar="CONVERSATION_ID")
    records.add_argument("--format", choices=["json", "jsonl", "table"], default="table")

    export = command(
        commands, "export", "write stored records to JSONL, or the lake's Parquet", cmd_export
    )
    export.add_argument("--since", required=True, help="date or UTC time of last activity")
    export.add_argument("--until", help="date or UTC time, inclusive")
    export.add_argument("--environment", help="JSONL only")
    export.add_argument(
        "--format",
        choices=["jsonl", "parquet"],
        default="jsonl",
        help="jsonl: records through the API; parquet: the tenant's lake partitions",
    )
    export.add_argument("-o", "--output", help="JSONL file to write (default: standard output)")
    export.add_argument("--out", help="parquet: the folder to write the partitions to")

    search = command(commands, "search", "full-text search over every stored message", cmd_search)
    search.add_argument("query", metavar="QUERY", help='words (ANDed), "a phrase", -excluded')
    search.add_argument("--since", help="date or RFC 3339 time, inclusive")
    search.add_argument("--until", help="RFC 3339 time (exclusive) or date (inclusive)")
    search.add_argument("--environment")
    search.add_argument("--source", help="chat, channel, tool_call, email, call, otel, …")
    search.add_argument("--role")
    search.add_argument("--model")
    search.add_argument("--conversation", help="only this conversation id")
    search.add_argument(
        "--metadata", action="append", metavar="KEY=VALUE", help="metadata filter (repeatable)"
    )
    search.add_argument("--sort", choices=["relevance", "recent"], default="relevance")
    search.add_argument("--json", action="store_true", help="JSON lines, one hit each")


def run(args: argparse.Namespace) -> int:
    try:
        code: int = args.run_api(args)
        sys.stdout.flush()  # here, so a closed pipe is caught below rather than at exit
        return code
    except (UsageError, Unreachable) as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader left (`| head`): stop quietly; point stdout at /dev/null so the
        # interpreter's own flush at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (ParleyError, ValueError) as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("parley: interrupted", file=sys.stderr)
        return 130
