"""`make dev`: the whole ingest API on 127.0.0.1, through the real handlers.

Each HTTP request goes through devtools.gateway (API Gateway REST emulation: the real authorizer,
then the real function via Mangum). Storage is an embedded moto server speaking the DynamoDB
protocol, with every table of template.yaml; set PARLEY_DYNAMODB_ENDPOINT to use another
endpoint (DynamoDB Local, …) instead.

Environment:
  PARLEY_PORT               port to listen on (default 3000; 0 picks a free one)
  PARLEY_DYNAMODB_ENDPOINT  use this DynamoDB endpoint instead of the embedded one
  PARLEY_DEV_KEYS           "tenant=prl_…,tenant2=prl_…": seed exactly these API keys
                            (default: one new key for tenant "dev", printed at start)
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from devtools.gateway import MAX_REQUEST_BODY, Gateways, HttpRequest, HttpResponse
from devtools.local import ENDPOINT_VAR, TABLE_PREFIX, ensure_aws_environment
from devtools.template import (
    apis,
    create_table_requests,
    global_environment,
    load_template,
    table_environment,
)

HOST = "127.0.0.1"
DEFAULT_PORT = 3000
STAGE = "local"
DEFAULT_TENANT = "dev"
_READ_CHUNK = 64 * 1024


class ConfigError(Exception):
    """A bad setting: reported in one line, exit code 2."""


class _Stop(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM."""


# --- settings --------------------------------------------------------------------------------


def port_from_env() -> int:
    raw = os.environ.get("PARLEY_PORT", "").strip() or str(DEFAULT_PORT)
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"PARLEY_PORT must be a port number, not {raw!r}")
    return int(raw)


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

    from devtools.moto_dynamodb import serialize_requests

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per storage call
    serialize_requests()  # as atomic as DynamoDB under concurrent requests
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


@dataclass(frozen=True)
class SeededKey:
    tenant: str
    key: str
    key_id: str
    note: str = ""


def seed_keys(client: Any, pairs: list[tuple[str, str]]) -> list[SeededKey]:
    """Store the given keys (an existing one is left as it is), or create one for `dev`."""
    from shared import services
    from shared.dynamo import Deadline

    store = services.key_store()
    if not pairs:
        key, info = store.create(DEFAULT_TENANT, Deadline(10))
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
    template: dict[str, Any], client: Any, endpoint: str, stack: contextlib.ExitStack
) -> Any:
    """Feed the template's stream-triggered functions from the tables' streams (background)."""
    import botocore.session

    from devtools.streams import StreamRunner, keep_moto_streams_across_rollbacks

    keep_moto_streams_across_rollbacks()
    streams = botocore.session.get_session().create_client(
        "dynamodbstreams", region_name=os.environ["AWS_REGION"], endpoint_url=endpoint
    )
    runner = StreamRunner(template, client, streams, TABLE_PREFIX)
    runner.start()
    stack.callback(runner.stop)
    return runner


# --- HTTP ------------------------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "parley-local"
    server: LocalServer

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def handle_expect_100(self) -> bool:
        # Like API Gateway, refuse an oversized body before the client sends it.
        if self._declared_length() > MAX_REQUEST_BODY:
            response = self.server.gateway.handle(self._request(b"", too_large=True))
            self.close_connection = True
            self._send(response)
            self._log(response, time.monotonic())
            return False
        return super().handle_expect_100()

    def _declared_length(self) -> int:
        raw = self.headers.get("Content-Length", "0").strip() or "0"
        return int(raw) if raw.isdigit() else 0

    def _serve(self) -> None:
        started = time.monotonic()
        body, too_large = self._read_body()
        if body is None:
            return
        response = self.server.gateway.handle(self._request(body, too_large=too_large))
        self._send(response)
        self._log(response, started)

    def _log(self, response: HttpResponse, started: float) -> None:
        elapsed = (time.monotonic() - started) * 1000
        sys.stderr.write(f"{self.command} {self.path} → {response.status} ({elapsed:.0f} ms)\n")

    def _request(self, body: bytes, *, too_large: bool) -> HttpRequest:
        parts = urlsplit(self.path)
        return HttpRequest(
            method=self.command,
            raw_path=parts.path or "/",
            query=parts.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            too_large=too_large,
        )

    def _read_body(self) -> tuple[bytes | None, bool]:
        """(body, too large). Past the limit the rest is read and dropped, so the connection
        stays usable; (None, _) when the request was malformed and has been answered."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length", "0").strip() or "0"
        if not raw.isdigit():
            self.send_error(400, "Bad Content-Length")
            return None, False
        length = int(raw)
        if length <= MAX_REQUEST_BODY:
            return self.rfile.read(length), False
        while length > 0:
            dropped = len(self.rfile.read(min(length, _READ_CHUNK)))
            if not dropped:  # the client stopped sending
                break
            length -= dropped
        return b"", True

    def _read_chunked(self) -> tuple[bytes | None, bool]:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                chunk_size = int(line, 16)
            except ValueError:
                self.send_error(400, "Bad chunked encoding")
                return None, False
            if chunk_size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                break
            chunk = self.rfile.read(chunk_size)
            self.rfile.readline(1024)
            size += len(chunk)
            if size <= MAX_REQUEST_BODY:
                parts.append(chunk)
        if size > MAX_REQUEST_BODY:
            return b"", True
        return b"".join(parts), False

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # _serve logs one line per request; errors from BaseHTTPRequestHandler are rare


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 resets bursts of parallel clients

    def __init__(self, port: int, gateway: Gateways) -> None:
        self.gateway = gateway
        super().__init__((HOST, port), _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away
        super().handle_error(request, client_address)


# --- main ------------------------------------------------------------------------------------


def _on_signal(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Stop


def _curl_examples(base_url: str, key: str, gateway: Gateways) -> list[str]:
    posts = [r for r in gateway.routes if r.method == "POST"]  # template order: ingest first
    gets = [r for r in gateway.routes if r.method == "GET"]
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
    port = port_from_env()
    dev_keys = parse_dev_keys(os.environ.get("PARLEY_DEV_KEYS"))
    template = load_template()
    api_ids = apis(template)
    if not api_ids:
        raise ConfigError("no AWS::Serverless::Api in template.yaml")
    ensure_aws_environment(local_endpoint=True)

    endpoint = os.environ.get(ENDPOINT_VAR, "").strip()
    storage = f"external ({ENDPOINT_VAR})"
    if not endpoint:
        endpoint, moto = start_moto()
        stack.callback(moto.stop)
        storage = "embedded moto server"
    # Handlers read their settings from the environment, as on Lambda.
    for name, value in global_environment(template, TABLE_PREFIX).items():
        os.environ.setdefault(name, value)
    os.environ.update(table_environment(template, TABLE_PREFIX))
    os.environ[ENDPOINT_VAR] = endpoint

    from shared import services
    from shared.dynamo import default_client

    services.reset()
    client = default_client()
    created, existing = ensure_tables(client, template)
    keys = seed_keys(client, dev_keys)
    gateway = Gateways(template, api_ids, stage=STAGE)  # imports the handlers
    streams = start_stream_runner(template, client, endpoint, stack)

    try:
        httpd = LocalServer(port, gateway)
    except OSError as exc:
        message = f"cannot listen on {HOST}:{port}: {exc.strerror}; set PARLEY_PORT"
        raise ConfigError(message) from exc
    stack.callback(httpd.server_close)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.2,), name="http", daemon=True)
    thread.start()
    stack.callback(httpd.shutdown)
    base_url = f"http://{HOST}:{httpd.server_address[1]}"

    out = [
        f"Parley local API — {', '.join(api_ids)} from template.yaml, stage {STAGE!r}",
        f"  DynamoDB endpoint: {endpoint}  [{storage}]",
    ]
    if created:
        out.append(f"  Tables created: {', '.join(created)}")
    if existing:
        out.append(f"  Tables already there: {', '.join(existing)}")
    out.append(f"  Stream-fed functions: {', '.join(streams.functions) or 'none'}")
    out.append("  Routes:")
    out += [f"    {r.method:<5} {r.path}  → {r.function.logical_id}" for r in gateway.routes]
    out.append("  API keys:")
    out += [f"    {k.tenant}: {k.key}  ({k.key_id}){k.note}" for k in keys]
    out += ["", "Try it:", *_curl_examples(base_url, keys[0].key, gateway)]
    out += [
        "",
        "Manage keys from another shell:",
        f"  {ENDPOINT_VAR}={endpoint} .venv/bin/parley keys list",
        "",
        f"Listening on {base_url} (started in {time.monotonic() - started:.1f} s; Ctrl-C to stop)",
    ]
    print("\n".join(out), flush=True)
    while thread.is_alive():
        thread.join(0.5)


def main() -> int:
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
