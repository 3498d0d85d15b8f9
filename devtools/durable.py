"""`make dev`'s data folder: the embedded store (moto's DynamoDB, S3 and SQS, in memory) made
durable, so a restart — even after `kill -9` — finds every acknowledged write.

Layout of the folder (PARLEY_DATA_DIR, default `.parley/` in the checkout):

  store/snapshot-<G>.pickle   the whole store as of the start of journal <G>
  store/journal-<G>.log       every DynamoDB and S3 write acknowledged since (devtools/journal.py)
  store/queues.pickle         the SQS queues (pending webhook deliveries and their retry times)
  streams.json                how far each stream-fed function has read (devtools/streams.py)
  dev-key                     the dev key, so it stays the same across restarts
  lake/                       the Parquet lake and the search index (LAKE_URI)
  lock                        held by the running server: one server per folder

How a write becomes durable: moto runs DynamoDB requests one at a time (moto_dynamodb.py);
right after a mutating request succeeds, still in that order, its request is appended to the
journal, and the answer is held until a `fdatasync` covers it (group commit: concurrent writers
share one flush). S3 writes (the raw archive) are journaled the same way; SQS writes rewrite
the small queues file. Startup loads the newest snapshot and replays the journal after it
through moto (DynamoDB's writes are deterministic given the same order, stream sequence
numbers included). A torn last frame — a write that was never acknowledged — is dropped.

Snapshots: after SNAPSHOT_FRAMES journal frames the server forks; the child pickles the
store as it was at the fork (copy-on-write: the server keeps answering) into a new snapshot,
and the journals it covers are deleted once it is on disk. Stream records every function has
read are dropped first (DynamoDB keeps them 24 h; here nothing reads them again).
"""

from __future__ import annotations

import contextlib
import copy
import copyreg
import fcntl
import gc
import io
import os
import pickle
import re
import shutil
import sys
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.journal import Journal, read_frames, sync_folder
from devtools.template import ROOT

DATA_DIR_VAR = "PARLEY_DATA_DIR"
DEFAULT_DATA_DIR = ROOT / ".parley"
DURABLE_VAR = "PARLEY_DEV_DURABLE"
SNAPSHOT_FRAMES = 1000  # startup replays at most about this many requests after a snapshot
SNAPSHOT_TIMEOUT_SECONDS = 600.0  # a child stuck this long is killed; the journal stays
CLOSE_SNAPSHOT_FRAMES = 200  # a clean stop snapshots past this many (else the next start replays)
_SNAPSHOT = re.compile(r"^snapshot-(\d{8})\.pickle$")
_JOURNAL = re.compile(r"^journal-(\d{8})\.log$")
_DYNAMODB_WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "CreateTable",
        "UpdateTable",
        "DeleteTable",
        "UpdateTimeToLive",
        "TagResource",
        "UntagResource",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
_SIGNING = frozenset({"HTTP_X_AMZ_DATE", "HTTP_X_AMZ_SECURITY_TOKEN"})
_SQS_READS = frozenset({"ReceiveMessage", "GetQueueUrl", "GetQueueAttributes", "ListQueues"})
_REPLAY_AUTH = "AWS4-HMAC-SHA256 Credential=local/20000101/{region}/{service}/aws4_request, "
_REPLAY_AUTH += "SignedHeaders=host, Signature=0"


class DataFolderBusy(Exception):
    """Another server holds the data folder."""


def data_folder() -> Path:
    raw = os.environ.get(DATA_DIR_VAR, "").strip()
    return Path(raw).expanduser().resolve() if raw else DEFAULT_DATA_DIR


def durable_from_env() -> bool:
    raw = os.environ.get(DURABLE_VAR, "").strip() or "1"
    if raw not in ("0", "1"):
        raise ValueError(f"{DURABLE_VAR} must be 0 or 1, not {raw!r}")
    return raw == "1"


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock (one server per folder; `reset` waits for none)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DataFolderBusy(f"{folder} is in use by a running `make dev`") from exc
        yield
    finally:
        os.close(fd)  # releases the lock


def reset(folder: Path) -> bool:
    """Delete the data folder's content (refused while a server uses it): whether it existed."""
    if not folder.exists():
        return False
    with locked(folder):
        for entry in folder.iterdir():
            if entry.name == "lock":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return True


# --- what a snapshot holds ------------------------------------------------------------------


def _fresh(kind: Callable[[], Any]) -> Callable[[Any], tuple[Any, tuple[()]]]:
    return lambda _: (kind, ())


def _sized_attributes(attributes: dict[str, Any]) -> Any:
    """moto's LimitedSizeDict (an item's attributes) rebuilt without its size check, which
    re-measures every attribute at each one added: it was most of a snapshot's load time."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    rebuilt = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(rebuilt, attributes)
    return rebuilt


def _pickler(file: io.BufferedWriter) -> pickle.Pickler:
    """A pickler that stores moto's locks and conditions as new, unlocked ones, and items'
    attributes as plain dicts."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    pickler = pickle.Pickler(file, protocol=pickle.HIGHEST_PROTOCOL)
    table = copyreg.dispatch_table.copy()
    table[LimitedSizeDict] = lambda attributes: (_sized_attributes, (dict(attributes),))
    table[type(threading.Lock())] = _fresh(threading.Lock)
    table[type(threading.RLock())] = _fresh(threading.RLock)
    table[threading.Condition] = _fresh(threading.Condition)
    table[threading.Event] = _fresh(threading.Event)
    pickler.dispatch_table = table
    return pickler


def _backends() -> tuple[Any, Any, Any]:
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends

    return dynamodb_backends, s3_backends, sqs_backends


def _dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _pickler(buffer).dump(value)  # type: ignore[arg-type]
    return buffer.getvalue()


@dataclass(frozen=True)
class PackedPartitions:
    """A range-keyed table's items in a snapshot: each partition pickled on its own, so a
    start loads one blob per partition instead of millions of small objects."""

    blobs: dict[Any, tuple[int, bytes]]  # hash key → (items, the partition pickled)

    @property
    def count(self) -> int:
        return sum(items for items, _ in self.blobs.values())


class LazyPartitions(defaultdict[Any, Any]):
    """A range-keyed table's items after a start: a partition is unpickled the first time it
    is used (a query, a write); what moto does over the whole table (a scan, a rollback's
    copy) unpickles all of them first. Used under moto_dynamodb's lock, as every item is."""

    def __init__(self, blobs: dict[Any, tuple[int, bytes]]) -> None:
        super().__init__(dict)
        self.blobs = blobs
        for key in blobs:
            dict.__setitem__(self, key, None)  # the keys are there; their partitions later

    def _load(self, key: Any) -> None:
        packed = self.blobs.pop(key, None)
        if packed is not None:
            dict.__setitem__(self, key, _loads(packed[1]))

    def _load_all(self) -> None:
        for key in list(self.blobs):
            self._load(key)

    def __getitem__(self, key: Any) -> Any:
        self._load(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._load(key)
        return super().get(key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        self._load(key)
        return super().pop(key, *default)

    def values(self) -> Any:
        self._load_all()
        return super().values()

    def items(self) -> Any:
        self._load_all()
        return super().items()

    def __reduce__(self) -> Any:
        self._load_all()
        return (defaultdict, (dict,), None, None, iter(super().items()))

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        self._load_all()
        return copy.deepcopy(defaultdict(dict, super().items()), memo)

    def count(self) -> int:
        """Items in the table, without unpickling a partition."""
        packed = sum(items for items, _ in self.blobs.values())
        loaded = sum(len(p) for k, p in dict.items(self) if k not in self.blobs)
        return packed + loaded

    def packed(self) -> PackedPartitions:
        """Every partition as a blob: those never unpickled are reused as they are."""
        blobs = dict(self.blobs)
        for key, partition in dict.items(self):
            if key not in blobs:
                blobs[key] = (len(partition), _dumps(partition))
        return PackedPartitions(blobs)


def _loads(blob: bytes) -> Any:
    return pickle.loads(blob)  # noqa: S301 (our own file, in our own data folder)


def _pack_tables() -> None:
    """In the snapshot's child process only (its own copy of the store): every range-keyed
    table's items become PackedPartitions."""
    dynamodb, _, _ = _backends()
    for regions in dynamodb.values():
        for backend in regions.values():
            for table in backend.tables.values():
                if not table.range_key_attr:
                    continue
                if isinstance(table.items, LazyPartitions):
                    table.items = table.items.packed()
                else:
                    table.items = PackedPartitions(
                        {k: (len(v), _dumps(v)) for k, v in table.items.items()}
                    )


def _store_state() -> dict[str, Any]:
    import moto

    dynamodb, s3, _ = _backends()
    return {
        "moto": moto.__version__,
        "dynamodb": {
            (account, region): backend.tables
            for account, regions in dynamodb.items()
            for region, backend in regions.items()
        },
        "s3": {
            (account, partition): backend.buckets
            for account, partitions in s3.items()
            for partition, backend in partitions.items()
        },
    }


def _queue_state() -> dict[tuple[str, str], Any]:
    _, _, sqs = _backends()
    return {
        (account, region): backend.queues
        for account, regions in sqs.items()
        for region, backend in regions.items()
    }


class IncompatibleDataFolder(Exception):
    """A snapshot written by another moto release (its objects are moto's own classes)."""


def _restore_store(state: dict[str, Any]) -> int:
    """Put a snapshot's tables and buckets into moto: the number of items restored."""
    import moto

    if state.get("moto") != moto.__version__:
        raise IncompatibleDataFolder(
            f"its snapshot was written with moto {state.get('moto')}, this is moto "
            f"{moto.__version__}: start afresh with `make dev RESET=1` (or keep it with the "
            "moto it was written with)"
        )
    dynamodb, s3, _ = _backends()
    items = 0
    for (account, region), tables in state["dynamodb"].items():
        for table in tables.values():
            if isinstance(table.items, PackedPartitions):
                items += table.items.count
                table.items = LazyPartitions(table.items.blobs)
            else:
                items += len(table)
        dynamodb[account][region].tables = tables
    for (account, partition), buckets in state["s3"].items():
        s3[account][partition].buckets = buckets
        for name in buckets:
            s3.bucket_accounts[name] = (partition, account)
    return items


def _restore_queues(state: dict[tuple[str, str], Any]) -> None:
    _, _, sqs = _backends()
    for (account, region), queues in state.items():
        sqs[account][region].queues = queues


def _write_pickle(path: Path, state: Any) -> None:
    """Write atomically and durably: a reader finds the old file or the whole new one."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as file:
        _pickler(file).dump(state)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)
    sync_folder(path.parent)


def _read_pickle(path: Path) -> Any:
    gc.disable()  # millions of small objects: the collector would rescan them all repeatedly
    try:
        with path.open("rb") as file:
            return pickle.load(file)  # noqa: S301 (our own file, in our own data folder)
    finally:
        gc.enable()


# --- the store ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """What startup found in the data folder."""

    items: int  # DynamoDB items in the snapshot
    replayed: int  # journaled requests replayed after it
    seconds: float


class DurableStore:
    """The embedded moto store's persistence in `folder/store`; `open` once, before serving."""

    def __init__(
        self,
        folder: Path,
        *,
        sync: bool = True,
        snapshot_frames: int = SNAPSHOT_FRAMES,
        stream_positions: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.folder = folder / "store"
        self._sync = sync
        self._snapshot_frames = snapshot_frames
        # table name → lowest sequence number some stream-fed function still has to read
        self.stream_positions = stream_positions
        self._generation = 0
        self._journal: Journal | None = None
        self._since_snapshot = 0
        self._snapshot_due = threading.Event()
        self._snapshot_lock = threading.Lock()  # one snapshot at a time
        self._snapshotter: threading.Thread | None = None
        self._replaying = False
        self._s3_lock = threading.Lock()
        self._queues_lock = threading.Lock()
        self._closed = False

    # startup

    def open(self) -> Opened:
        from devtools import moto_dynamodb

        started = time.monotonic()
        # Nothing records the replay (an earlier store of this process would journal it again).
        moto_dynamodb.observe_writes(None)
        _set_active(None)
        self.folder.mkdir(parents=True, exist_ok=True)
        snapshots = self._numbered(_SNAPSHOT)
        items = 0
        if snapshots:
            self._generation = snapshots[-1]
            items = _restore_store(_read_pickle(self._snapshot_path(self._generation)))
        queues = self.folder / "queues.pickle"
        if queues.exists():
            _restore_queues(_read_pickle(queues))
        replayed = 0
        journals = [g for g in self._numbered(_JOURNAL) if g >= self._generation]
        self._replaying = True
        try:
            for generation in journals:
                replayed += self._replay(self._journal_path(generation))
        finally:
            self._replaying = False
        if journals:
            self._generation = journals[-1]
        self._journal = Journal(self._journal_path(self._generation), sync=self._sync)
        self._since_snapshot = replayed
        self._remove_covered()
        self._install()
        self._snapshotter = threading.Thread(
            target=self._take_snapshots, name="snapshots", daemon=True
        )
        self._snapshotter.start()
        return Opened(items, replayed, time.monotonic() - started)

    def _numbered(self, pattern: re.Pattern[str]) -> list[int]:
        found = (pattern.match(p.name) for p in self.folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def _snapshot_path(self, generation: int) -> Path:
        return self.folder / f"snapshot-{generation:08d}.pickle"

    def _journal_path(self, generation: int) -> Path:
        return self.folder / f"journal-{generation:08d}.log"

    def _replay(self, path: Path) -> int:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        app = DomainDispatcherApplication(create_backend_app)
        payloads, _ = read_frames(path)
        for payload in payloads:
            service, method, path_qs, headers, body, region = pickle.loads(payload)  # noqa: S301
            url_path, _, query = path_qs.partition("?")
            headers = dict(headers)
            headers["Authorization"] = _REPLAY_AUTH.format(region=region, service=service)
            environ = EnvironBuilder(
                path=url_path,
                base_url="http://127.0.0.1",
                query_string=query or None,
                method=method,
                headers=headers,
                data=body,
            ).get_environ()
            app_iter, status, _headers = run_wsgi_app(app, environ)
            b"".join(app_iter)
            if not status.startswith("2"):
                sys.stderr.write(f"data folder: replaying a {service} write answered {status}\n")
        return len(payloads)

    # recording writes

    def _install(self) -> None:
        from moto.dynamodb.models.table import Table
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        # DescribeTable's ItemCount (the stream runner describes every table at start) counts
        # a lazy table's items without unpickling every partition.
        table_length = Table.__len__
        if not getattr(table_length, "lazy", False):

            def length(table: Any) -> int:
                if isinstance(table.items, LazyPartitions):
                    return table.items.count()
                return table_length(table)

            length.lazy = True  # type: ignore[attr-defined]
            Table.__len__ = length  # type: ignore[method-assign]

        from devtools import moto_dynamodb

        moto_dynamodb.observe_writes(self._dynamodb_written)
        original = DomainDispatcherApplication.__call__
        if not getattr(original, "durable", False):

            def call(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
                active = _active_store
                if active is None or active._replaying:
                    return original(app, environ, start_response)
                return active._dispatch(original, app, environ, start_response)

            call.durable = True  # type: ignore[attr-defined]
            DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign,assignment]
        _set_active(self)

    def close(self) -> None:
        """Stop recording; snapshot unless the next start has little to replay."""
        if self._closed:
            return
        self._closed = True
        from devtools import moto_dynamodb

        moto_dynamodb.observe_writes(None)
        _set_active(None)
        self._snapshot_due.set()
        if self._snapshotter is not None:
            self._snapshotter.join()
        if self._since_snapshot >= CLOSE_SNAPSHOT_FRAMES:
            self.snapshot()
        if self._journal is not None:
            self._journal.close()

    def _dynamodb_written(self, handler: Any, status: Any) -> Callable[[], None] | None:
        """Called by moto_dynamodb under its lock after each DynamoDB request."""
        if self._replaying or self._journal is None or not str(status).startswith("2"):
            return None
        target = handler.headers.get("X-Amz-Target", "")
        if target.rpartition(".")[2] not in _DYNAMODB_WRITES:
            return None
        raw = handler.raw_body  # the request as sent (`body` is parsed by then)
        body = raw if isinstance(raw, bytes) else str(raw).encode()
        headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}
        return self._append(("dynamodb", "POST", "/", headers, body, handler.region))

    def _append(self, record: tuple[Any, ...]) -> Callable[[], None]:
        journal = self._journal
        assert journal is not None
        seq = journal.append(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        self._since_snapshot += 1
        if self._since_snapshot >= self._snapshot_frames:
            self._snapshot_due.set()  # taken by its own thread: it needs every lock, in order
        return lambda: journal.wait(seq)

    def _dispatch(
        self, original: Callable[..., Any], app: Any, environ: dict[str, Any], start_response: Any
    ) -> Any:
        """S3 and SQS writes (DynamoDB's are recorded under moto_dynamodb's lock)."""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        service = auth.split("/")[3] if auth.count("/") >= 4 else ""
        method = environ.get("REQUEST_METHOD", "GET")
        if service == "s3" and method in ("PUT", "POST", "DELETE"):
            return self._s3_write(original, app, environ, start_response)
        if service == "sqs" and method == "POST":
            action = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
            if action not in _SQS_READS:
                with self._queues_lock:
                    answer = list(original(app, environ, start_response))
                    self._save_queues()
                return answer
        return original(app, environ, start_response)

    def _save_queues(self) -> None:
        """Rewrite the queues file. A poller's ReceiveMessage may change a queue while it is
        pickled (it runs outside this lock: a long poll would hold it a second): pickle again."""
        for attempt in range(5):
            try:
                _write_pickle(self.folder / "queues.pickle", _queue_state())
                return
            except RuntimeError:  # "changed size during iteration"
                if attempt == 4:
                    raise

    def _s3_write(
        self, original: Callable[..., Any], app: Any, environ: dict[str, Any], start_response: Any
    ) -> Any:
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        if length:
            body = stream.read(int(length))
        else:  # chunked (werkzeug ends the stream at the last chunk), or no body
            body = stream.read() if environ.get("wsgi.input_terminated") else b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        status: list[str] = []

        def capture(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info)

        # What moto reads from a write besides its body (never the signature or its date).
        keep = [n for n in environ if n.startswith("HTTP_X_AMZ_") and n not in _SIGNING]
        headers = {
            name.removeprefix("HTTP_").replace("_", "-").title(): environ[name]
            for name in ("CONTENT_TYPE", "HTTP_CONTENT_ENCODING", "HTTP_CONTENT_MD5", *keep)
            if environ.get(name)
        }
        region = environ.get("HTTP_AUTHORIZATION", "").split("/")[2]
        path_qs = environ.get("PATH_INFO", "/")
        if environ.get("QUERY_STRING"):
            path_qs += "?" + environ["QUERY_STRING"]
        with self._s3_lock:  # journal order = the order moto applied them
            answer = list(original(app, environ, capture))
            wait = None
            if status and status[0].startswith("2"):
                wait = self._append(
                    ("s3", environ["REQUEST_METHOD"], path_qs, headers, body, region)
                )
        if wait is not None:
            wait()
        return answer

    # snapshots

    def _take_snapshots(self) -> None:
        while not self._closed:
            self._snapshot_due.wait()
            self._snapshot_due.clear()
            if not self._closed and self._since_snapshot >= self._snapshot_frames:
                self.snapshot()

    def snapshot(self) -> None:
        """Snapshot the store as it is now: a forked child writes it while the server goes on;
        returns once it is on disk (or failed, leaving the journal in place)."""
        from devtools.moto_dynamodb import store_lock

        with self._snapshot_lock:
            with store_lock(), self._s3_lock:
                if self._journal is None:
                    return
                self._trim_streams()
                generation = self._generation + 1
                previous = self._journal
                self._journal = Journal(self._journal_path(generation), sync=self._sync)
                previous.close()
                self._generation = generation
                self._since_snapshot = 0
                path = self._snapshot_path(generation)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
                    pid = os.fork()
                if pid == 0:  # the child: nothing but pickling and writing, then exit
                    code = 1
                    try:
                        # below the server: on a busy machine the snapshot waits, not requests
                        with contextlib.suppress(OSError):
                            os.nice(10)
                        gc.disable()
                        _pack_tables()
                        _write_pickle(path, _store_state())
                        code = 0
                    finally:
                        os._exit(code)
            if _wait_child(pid, SNAPSHOT_TIMEOUT_SECONDS) == 0:
                self._remove_covered(generation)
            else:
                sys.stderr.write(f"data folder: snapshot {generation} failed; journals kept\n")

    def _remove_covered(self, generation: int | None = None) -> None:
        """Delete the snapshots and journals older than the newest complete snapshot."""
        snapshots = self._numbered(_SNAPSHOT)
        newest = generation if generation is not None else (snapshots or [0])[-1]
        for old in snapshots:
            if old < newest:
                self._snapshot_path(old).unlink(missing_ok=True)
        for old in self._numbered(_JOURNAL):
            if old < newest:
                self._journal_path(old).unlink(missing_ok=True)
        for partial in self.folder.glob("*.partial"):
            if generation is None:
                partial.unlink(missing_ok=True)

    def _trim_streams(self) -> None:
        """Drop the stream records every stream-fed function has read (under the store lock)."""
        if self.stream_positions is None:
            return
        positions = self.stream_positions()
        dynamodb, _, _ = _backends()
        for regions in dynamodb.values():
            for backend in regions.values():
                for name, table in backend.tables.items():
                    shard = table.stream_shard
                    if shard is None or name not in positions:
                        continue
                    read = positions[name] - shard.starting_sequence_number
                    if read > 0:
                        del shard.items[:read]
                        shard.starting_sequence_number += read


def _wait_child(pid: int, timeout: float) -> int:
    """The child's exit code; a child still running after `timeout` is killed (-9)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return -9
        time.sleep(0.05)


_active_store: DurableStore | None = None


def _set_active(store: DurableStore | None) -> None:
    global _active_store
    _active_store = store
