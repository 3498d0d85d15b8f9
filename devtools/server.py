"""`make dev`: the whole ingest API on 127.0.0.1, through the real handlers.

uvicorn serves HTTP (devtools.asgi: size limits and read timeouts); each request then goes
through devtools.gateway (API Gateway REST emulation: the real authorizer,
then the real function via Mangum). Storage is an embedded moto server speaking the DynamoDB
protocol, with every table of template.yaml; set PARLEY_DYNAMODB_ENDPOINT to use another
endpoint (DynamoDB Local, …) instead.

Environment:
  PARLEY_PORT               port to listen on (default 3000; 0 picks a free one)
  PARLEY_DYNAMODB_ENDPOINT  use this DynamoDB endpoint instead of the embedded one
  PARLEY_S3_ENDPOINT        with PARLEY_DYNAMODB_ENDPOINT: the S3 endpoint of the raw archive
                            (without it the archive is off); the embedded server serves S3 too
  PARLEY_DEV_KEYS           "tenant=prl_…,tenant2=prl_…": seed exactly these API keys
                            (default: one new key for tenant "dev", printed at start)
  PARLEY_READ_TIMEOUT_SECONDS  how long a request head or body may stall (default 10)
  PARLEY_DEV_STATE          where to write the state file the CLI reads (default
                            .parley-dev.json in the checkout; removed on a clean exit)
  PARLEY_DEV_STORAGE_FAULTS fraction (0-1) of DynamoDB calls that fail with a throttling
                            error, to watch retries work end to end (default 0)
  PARLEY_DATA_DIR           the data folder (default .parley in the checkout): tables, keys,
                            queues, stream positions, the raw archive, the lake (docs/local.md)
  PARLEY_DEV_DURABLE        1 (default): the embedded store is kept in the data folder, every
                            acknowledged write on disk first; 0: in memory, gone on exit
  LAKE_URI                  the analytics lake's folder (default lake/ in the data folder);
                            the lake writers and compaction write Parquet there
  PARLEY_DEV_SCHEDULE_SECONDS  period of the scheduled functions (the lake's compaction), in
                            seconds (default 30)
  PARLEY_DEV_SPLIT_ORIGINS  1: every API on its own port (its own origin), as deployed where
                            each API has its own host: the ingest API (and the web console) at
                            PARLEY_PORT, the others on free ports. The console then reads the
                            conversations API through CORS, as on AWS (default 0: one port)
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shlex
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from botocore.exceptions import BotoCoreError, ClientError

from devtools.asgi import MAX_HEAD_READ, GatewayApp, protocol_class
from devtools.durable import (
    DEFAULT_DATA_DIR,
    DataFolderBusy,
    DurableStore,
    IncompatibleDataFolder,
    data_folder,
    durable_from_env,
    locked,
    reset,
)
from devtools.gateway import Gateways
from devtools.local import (
    ARCHIVE_BUCKET,
    ENDPOINT_VAR,
    S3_ENDPOINT_VAR,
    STATE_VAR,
    TABLE_PREFIX,
    DevServerState,
    ensure_aws_environment,
    remove_state,
    state_file,
    write_state,
)
from devtools.queues import start_local_queues, start_pollers
from devtools.schedules import ScheduleRunner
from devtools.template import (
    ApiRoute,
    api_routes,
    apis,
    create_table_requests,
    global_environment,
    load_template,
    table_environment,
)

HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_READ_TIMEOUT = 10.0
KEEP_ALIVE_SECONDS = 5
SHUTDOWN_SECONDS = 5  # requests still running after a stop signal get this long to finish
STAGE = "local"
DEFAULT_TENANT = "dev"
DEV_KEY_FILE = "dev-key"  # in the data folder: the dev key stays the same across restarts


class ConfigError(Exception):
    """A bad setting: reported in one line, exit code 2."""


class _Stop(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM."""


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSettings:
    """The dev server's own settings (never shipped: the functions' are shared.settings)."""

    port: int
    read_timeout: float
    dev_keys: list[tuple[str, str]]
    state_file: Path
    storage_faults: float = 0.0
    split_origins: bool = False
    data_folder: Path = DEFAULT_DATA_DIR
    durable: bool = True

    @classmethod
    def from_env(cls) -> ServerSettings:
        try:
            durable = durable_from_env()
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        return cls(
            port=port_from_env(),
            read_timeout=read_timeout_from_env(),
            dev_keys=parse_dev_keys(os.environ.get("PARLEY_DEV_KEYS")),
            state_file=state_file(),
            storage_faults=storage_faults_from_env(),
            split_origins=split_origins_from_env(),
            data_folder=data_folder(),
            durable=durable,
        )


def split_origins_from_env() -> bool:
    raw = os.environ.get("PARLEY_DEV_SPLIT_ORIGINS", "").strip() or "0"
    if raw not in ("0", "1"):
        raise ConfigError(f"PARLEY_DEV_SPLIT_ORIGINS must be 0 or 1, not {raw!r}")
    return raw == "1"


def storage_faults_from_env() -> float:
    raw = os.environ.get("PARLEY_DEV_STORAGE_FAULTS", "").strip() or "0"
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise ConfigError(f"PARLEY_DEV_STORAGE_FAULTS must be a fraction [0-1), not {raw!r}")
    return value


def inject_storage_faults(client: Any, rate: float) -> None:
    """Make `rate` of the client's DynamoDB calls fail as throttled, before they are sent."""
    from botocore.exceptions import ClientError

    rng = random.Random()  # noqa: S311 (fault injection, not secrets)

    def maybe_fail(model: Any, **_: Any) -> None:
        if rng.random() < rate:
            error = {
                "Error": {
                    "Code": "ProvisionedThroughputExceededException",
                    "Message": "injected by PARLEY_DEV_STORAGE_FAULTS",
                },
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            raise ClientError(error, model.name)  # type: ignore[arg-type]

    client.meta.events.register("before-call.dynamodb", maybe_fail)


def port_from_env() -> int:
    raw = os.environ.get("PARLEY_PORT", "").strip() or str(DEFAULT_PORT)
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"PARLEY_PORT must be a port number, not {raw!r}")
    return int(raw)


def read_timeout_from_env() -> float:
    raw = os.environ.get("PARLEY_READ_TIMEOUT_SECONDS", "").strip() or str(DEFAULT_READ_TIMEOUT)
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise ConfigError(f"PARLEY_READ_TIMEOUT_SECONDS must be seconds (0-3600], not {raw!r}")
    return value


def parse_dev_keys(raw: str | None) -> list[tuple[str, str]]:
    """PARLEY_DEV_KEYS="tenant=key,tenant2=key2" → [(tenant, key), …], validated."""
    from shared.auth import TENANT_RE, bearer_token

    pairs: list[tuple[str, str]] = []
    for entry in (raw or "").split(","):
        if not entry.strip():
            continue
        tenant, sep, key = (part.strip() for part in entry.partition("="))
        if not sep:
            raise ConfigError(f"PARLEY_DEV_KEYS: expected tenant=key, got {entry.strip()!r}")
        if not TENANT_RE.fullmatch(tenant):
            raise ConfigError(
                f"PARLEY_DEV_KEYS: bad tenant {tenant!r} (1-64 letters, digits, '_', '.', '-')"
            )
        if bearer_token(f"Bearer {key}") != key:
            raise ConfigError(
                f"PARLEY_DEV_KEYS: the key for {tenant!r} must be prl_ followed by 32 or more "
                "url-safe characters (A-Z a-z 0-9 _ -)"
            )
        if any(key == other for _, other in pairs):
            raise ConfigError(f"PARLEY_DEV_KEYS: the key for {tenant!r} is listed twice")
        pairs.append((tenant, key))
    return pairs


# --- storage ---------------------------------------------------------------------------------


def start_moto() -> tuple[str, Any]:
    """An embedded DynamoDB-protocol server on a free port: (endpoint, server)."""
    import logging

    from moto.server import ThreadedMotoServer

    from devtools.moto_dynamodb import fast_queries, serialize_requests

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per storage call
    serialize_requests()  # as atomic as DynamoDB under concurrent requests
    fast_queries()  # a query reads its partition, not the whole table
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}", server


def ensure_tables(client: Any, template: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Create every table of the template that is missing: (created, already there)."""
    created: list[str] = []
    existing: list[str] = []
    for request in create_table_requests(template, TABLE_PREFIX):
        try:
            status = client.create_table(**request)["TableDescription"]["TableStatus"]
        except client.exceptions.ResourceInUseException:
            existing.append(request["TableName"])
            continue
        if status != "ACTIVE":
            client.get_waiter("table_exists").wait(TableName=request["TableName"])
        created.append(request["TableName"])
    return created, existing


def ensure_archive_bucket() -> None:
    """The raw archive's bucket, created unless it is there."""
    from shared.ingest.archive import make_s3_client
    from shared.settings import get_settings

    client = make_s3_client(get_settings())
    existing = (client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists)
    with contextlib.suppress(*existing):
        client.create_bucket(Bucket=ARCHIVE_BUCKET)


@dataclass(frozen=True)
class SeededKey:
    tenant: str
    key: str
    key_id: str
    note: str = ""


def seed_keys(
    client: Any, pairs: list[tuple[str, str]], dev_key_file: Path | None = None
) -> list[SeededKey]:
    """Store the given keys (an existing one is left as it is), or the dev key kept in
    `dev_key_file`, or create one for `dev` (and keep it there)."""
    from shared import services
    from shared.dynamo import Deadline

    store = services.key_store()
    kept = dev_key_file.read_text().strip() if dev_key_file and dev_key_file.exists() else ""
    if not pairs and kept:
        pairs = [(DEFAULT_TENANT, kept)]
    elif not pairs:
        key, info = store.create(DEFAULT_TENANT, Deadline(10))
        if dev_key_file is not None:
            dev_key_file.touch(mode=0o600)
            dev_key_file.write_text(key + "\n")
        return [SeededKey(DEFAULT_TENANT, key, info.key_id, " (new)")]
    seeded = []
    for tenant, key in pairs:
        info = store.store(key, tenant, Deadline(10))
        note = " (REVOKED)" if info.revoked_at else ""
        if info.tenant_id != tenant:
            note = f" (already stored for tenant {info.tenant_id}!)"
        seeded.append(SeededKey(tenant, key, info.key_id, note))
    return seeded


def start_stream_runner(
    template: dict[str, Any],
    client: Any,
    endpoint: str,
    stack: contextlib.ExitStack,
    positions_file: Path | None = None,
) -> Any:
    """Feed the template's stream-triggered functions from the tables' streams (background);
    with `positions_file`, each goes on where it stopped before a restart."""
    import botocore.session

    from devtools.streams import StreamPositions, StreamRunner, keep_moto_streams_across_rollbacks

    keep_moto_streams_across_rollbacks()
    streams = botocore.session.get_session().create_client(
        "dynamodbstreams", region_name=os.environ["AWS_REGION"], endpoint_url=endpoint
    )
    positions = StreamPositions(positions_file) if positions_file else None
    runner = StreamRunner(template, client, streams, TABLE_PREFIX, positions=positions)
    runner.start()
    stack.callback(runner.stop)
    return runner


# --- HTTP ------------------------------------------------------------------------------------


def listen(port: int) -> socket.socket:
    """Bind here, not in uvicorn, so a busy port is one clear line and port 0's pick is known."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {HOST}:{port}: {exc.strerror}; set PARLEY_PORT"
        ) from exc
    sock.listen(128)  # bursts of parallel clients are queued, not reset
    return sock


def listen_per_api(
    stack: contextlib.ExitStack, api_ids: list[str], port: int, split: bool
) -> dict[str, socket.socket]:
    """API logical id → its listening socket: one shared by all, or (split) one each, the
    first API's on `port`."""
    first = stack.enter_context(listen(port))
    if not split:
        return dict.fromkeys(api_ids, first)
    return {api_ids[0]: first} | {api: stack.enter_context(listen(0)) for api in api_ids[1:]}


def console_api(template: dict[str, Any]) -> str:
    """The API that serves the web console's page (GET /)."""
    return next(r.api for r in api_routes(template) if r.method == "GET" and r.path == "/")


def http_server(gateway: Gateways, read_timeout: float) -> uvicorn.Server:
    config = uvicorn.Config(
        GatewayApp(gateway, read_timeout),
        http=protocol_class(head_timeout=read_timeout),
        loop="asyncio",
        lifespan="off",
        ws="none",
        access_log=False,  # GatewayApp logs one line per request, with its request id
        log_level="warning",
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
        h11_max_incomplete_event_size=MAX_HEAD_READ,
    )
    return uvicorn.Server(config)


# --- main ------------------------------------------------------------------------------------


def _on_signal(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Stop


def export_lines(base_url: str, key: str) -> list[str]:
    """The shell lines that point the README's curl examples and the CLI at this server."""
    return [
        f"  export PARLEY_URL={shlex.quote(base_url)}",
        f"  export PARLEY_KEY={shlex.quote(key)}",
    ]


def _curl_examples(base_url: str, key: str, routes: list[ApiRoute]) -> list[str]:
    posts = [r for r in routes if r.method == "POST"]  # template order: ingest first
    gets = [r for r in routes if r.method == "GET"]
    lines: list[str] = []
    if posts:
        lines += [
            f"  curl -sS {base_url}{posts[0].path} \\",
            f'    -H "Authorization: Bearer {key}" \\',
            '    -H "Content-Type: application/json" \\',
            """    -d '{"events": [{"conversation_id": "conv-abc123", "role": "user", """
            """"message": "Hello, how are you?"}]}'""",
        ]
    for route in gets[:1]:
        path = re.sub(r"\{\w+\}", "conv-abc123", route.path)
        lines.append(f'  curl -sS {base_url}{path} -H "Authorization: Bearer {key}"')
    return lines


def serve(stack: contextlib.ExitStack) -> None:
    started = time.monotonic()
    settings = ServerSettings.from_env()
    template = load_template()
    api_ids = apis(template)
    if not api_ids:
        raise ConfigError("no AWS::Serverless::Api in template.yaml")
    ensure_aws_environment(local_endpoint=True)
    # Listen first: each API's origin is known before the handlers read their settings.
    sockets = listen_per_api(stack, api_ids, settings.port, settings.split_origins)
    origins = {api: f"http://{HOST}:{sock.getsockname()[1]}" for api, sock in sockets.items()}
    # The conversations API's functions let the console's origin read them (CORS).
    os.environ["PARLEY_CONSOLE_ORIGIN"] = origins[console_api(template)]

    endpoint = os.environ.get(ENDPOINT_VAR, "").strip()
    s3_endpoint = os.environ.get(S3_ENDPOINT_VAR, "").strip() or None
    storage = f"external ({ENDPOINT_VAR})"
    folder = settings.data_folder
    try:
        stack.enter_context(locked(folder))
    except DataFolderBusy as exc:
        raise ConfigError(f"{exc}; stop it, or set PARLEY_DATA_DIR") from exc
    durable_store: DurableStore | None = None
    if not endpoint:
        from devtools.moto_inprocess import dispatch_in_process

        endpoint, moto = start_moto()
        stack.callback(moto.stop)
        stack.callback(dispatch_in_process(endpoint))  # no loopback HTTP for our own calls
        storage = "embedded moto server, in memory (PARLEY_DEV_DURABLE=0)"
        if settings.durable:
            durable_store = DurableStore(folder)
            try:
                opened = durable_store.open()
            except IncompatibleDataFolder as exc:
                raise ConfigError(f"cannot read the data folder {folder}: {exc}") from exc
            stack.callback(durable_store.close)  # after everything started below has stopped
            storage = (
                f"embedded moto server, kept in {folder} ({opened.items:,} items, "
                f"{opened.replayed:,} journaled writes replayed, loaded in {opened.seconds:.1f} s)"
            )
        s3_endpoint = endpoint  # moto's server speaks every service's protocol
    # Handlers read their settings from the environment, as on Lambda.
    for name, value in global_environment(template, TABLE_PREFIX).items():
        os.environ.setdefault(name, value)
    os.environ.update(table_environment(template, TABLE_PREFIX))
    os.environ[ENDPOINT_VAR] = endpoint
    os.environ.setdefault("PARLEY_LOCAL_MODE", "1")  # webhooks may go to 127.0.0.1/localhost
    # The lake is a folder here (an S3 URI on AWS), written by the same workers.
    lake = os.environ.get("LAKE_URI", "").strip() or str(folder / "lake")
    os.environ["LAKE_URI"] = lake
    embedded_moto = endpoint if storage.startswith("embedded") else None
    sqs_endpoint, sqs = start_local_queues(stack, template, embedded_moto, TABLE_PREFIX)
    archive_bucket = ARCHIVE_BUCKET if s3_endpoint else None
    if s3_endpoint:
        os.environ[S3_ENDPOINT_VAR] = s3_endpoint
        os.environ["ARCHIVE_BUCKET"] = ARCHIVE_BUCKET
    else:
        os.environ.pop("ARCHIVE_BUCKET", None)

    from shared import services
    from shared.dynamo import default_client

    services.reset()
    client = default_client()
    created, existing = ensure_tables(client, template)
    if s3_endpoint:
        ensure_archive_bucket()
    keys = seed_keys(client, settings.dev_keys, folder / DEV_KEY_FILE)
    # One gateway per socket (per API when split); imports the handlers.
    served = {
        sock: Gateways(template, [a for a in api_ids if sockets[a] is sock], STAGE, origins=origins)
        for sock in dict.fromkeys(sockets.values())
    }
    routes = [route for gateways in served.values() for route in gateways.routes]
    queue_triggers = start_pollers(stack, template, sqs, TABLE_PREFIX)
    positions = folder / "streams.json" if durable_store else None
    streams = start_stream_runner(template, client, endpoint, stack, positions)
    if durable_store is not None:
        durable_store.stream_positions = streams.unread_from
    schedules = ScheduleRunner(template)
    schedules.start()
    stack.callback(schedules.stop)
    # Faults meet what the server serves and runs from here on, never its own start-up (a
    # stream runner's first DescribeTable failing stopped the server before it listened).
    if settings.storage_faults:
        inject_storage_faults(client, settings.storage_faults)

    threads = []
    for sock, api_gateway in served.items():
        server = http_server(api_gateway, settings.read_timeout)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="http", daemon=True
        )
        thread.start()
        stack.callback(_stop_http, server, thread)
        while not server.started:
            if not thread.is_alive():
                raise ConfigError("the HTTP server did not start (see the messages above)")
            time.sleep(0.02)
        threads.append(thread)
    base_url = origins[api_ids[0]]
    state = DevServerState(
        os.getpid(),
        base_url,
        endpoint,
        os.environ["API_KEYS_TABLE"],
        s3_endpoint,
        archive_bucket,
        api_key=keys[0].key,
    )
    try:
        write_state(state, settings.state_file)
    except OSError as exc:
        message = f"cannot write {settings.state_file}: {exc.strerror}; set {STATE_VAR}"
        raise ConfigError(message) from exc
    stack.callback(remove_state, settings.state_file, state.pid)

    out = [
        f"Parley local API — {', '.join(api_ids)} from template.yaml, stage {STAGE!r}",
        f"  DynamoDB endpoint: {endpoint}  [{storage}]",
    ]
    if archive_bucket:
        out.append(f"  Raw archive: s3://{archive_bucket} at {s3_endpoint}")
    else:
        out.append(f"  Raw archive: off (set {S3_ENDPOINT_VAR} with {ENDPOINT_VAR})")
    if created:
        out.append(f"  Tables created: {', '.join(created)}")
    if existing:
        out.append(f"  Tables already there: {', '.join(existing)}")
    out.append(f"  Stream-fed functions: {', '.join(streams.functions) or 'none'}")
    out.append(f"  Lake (Parquet): {lake}")
    out.append(
        f"  Scheduled functions (every {schedules.period:g} s here): "
        f"{', '.join(schedules.functions) or 'none'}"
    )
    if settings.storage_faults:
        out.append(f"  Storage faults: {settings.storage_faults:.0%} of DynamoDB calls fail")
    if settings.split_origins:
        out.append("  Each API on its own origin (PARLEY_DEV_SPLIT_ORIGINS=1):")
        out += [f"    {api}: {origin}" for api, origin in origins.items()]
    out.append("  Routes:")
    out += [f"    {r.method:<5} {r.path}  → {r.function.logical_id}" for r in routes]
    out.append(f"  SQS endpoint: {sqs_endpoint}")
    out += [f"    queue {t.queue}  → {t.function.logical_id}" for t in queue_triggers]
    out.append("  API keys:")
    out += [f"    {k.tenant}: {k.key}  ({k.key_id}){k.note}" for k in keys]
    out += [
        "",
        "In another shell, paste these (the README's examples and the `parley` CLI use them):",
        *export_lines(base_url, keys[0].key),
        "",
        "Try it:",
        *_curl_examples(base_url, keys[0].key, routes),
    ]
    out += [
        "",
        f"Manage keys from another shell (the CLI finds this server in {settings.state_file}):",
        "  .venv/bin/parley keys list",
        "",
        f"Web console: {base_url}/  (sign in with an API key above)",
        f"Listening on {base_url} (started in {time.monotonic() - started:.1f} s; Ctrl-C to stop)",
    ]
    print("\n".join(out), flush=True)
    while all(thread.is_alive() for thread in threads):
        threads[0].join(0.5)


def _stop_http(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(SHUTDOWN_SECONDS + 5)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args != ["--reset"]:
        print("usage: python -m devtools.server [--reset]", file=sys.stderr)
        return 2
    if args:  # make dev RESET=1
        folder = data_folder()
        try:
            wiped = reset(folder)
        except DataFolderBusy as exc:
            print(f"parley dev server: {exc}; stop it first", file=sys.stderr)
            return 2
        print(f"Data folder {folder} {'emptied' if wiped else 'is new'}", flush=True)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        with contextlib.ExitStack() as stack:
            try:
                serve(stack)
            except _Stop:
                print("\nStopping…", flush=True)
    except ConfigError as exc:
        print(f"parley dev server: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        endpoint = os.environ.get(ENDPOINT_VAR)
        print(f"parley dev server: DynamoDB at {endpoint} failed: {exc}", file=sys.stderr)
        return 1
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
