"""Storage faults injected over HTTP, between `make dev`'s real botocore client and DynamoDB.

A dedicated dev server talks to an embedded moto server through tests.e2e.fault_proxy. For every
ingest and conversations route and every kind of fault: each answer is full success or a
retryable 503 with Retry-After (never a 500), and once the client has resent what was refused,
every event (every acknowledged append) is stored exactly once.

Each route is tried twice per fault: a short burst that the service's own retries absorb, and
faults that last until the client has seen its first answer (a 503, unless the write got through
and only its answer was lost), after which storage recovers and the client resends.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NoReturn
from urllib.parse import quote

import boto3
import pytest

from devtools.local import TABLE_PREFIX
from devtools.template import create_table_requests, load_template, table_environment
from tests.e2e.client import Reply, request
from tests.e2e.conftest import ServerProcess, new_key, start_server
from tests.e2e.fault_proxy import WRITES, Fault, FaultProxy

pytestmark = pytest.mark.e2e

CLAIM_SECONDS = 1  # the server's Idempotency-Key claim expiry: a stuck claim frees quickly
READ_TIMEOUT = 0.3  # the server's DynamoDB read timeout, so an injected timeout is quick
FAULTS: list[Fault] = [
    "throttled",
    "throttling",
    "unprocessed",
    "server-error",
    "timeout",
    "reset",
    "lost",
    "cancelled",
]
# A read has no unprocessed items, transaction or commit to lose: the faults it can meet.
READ_FAULTS: list[Fault] = ["throttled", "throttling", "server-error", "timeout", "reset"]
CLIENT_ATTEMPTS = 20
READ_ATTEMPTS = 5
READS = ("GetItem", "Query", "BatchGetItem")


class Faulty:
    def __init__(self, server: ServerProcess, proxy: FaultProxy) -> None:
        self.server = server
        self.proxy = proxy
        self.attempts: list[str] = []  # this test's requests and answers
        self._lines_at_start = 0
        self._faults_at_start = 0

    def start_test(self) -> None:
        self.attempts.clear()
        self._lines_at_start = len(self.server.lines)
        self._faults_at_start = len(self.proxy.plan.injected)

    def logged(self, text: str) -> bool:
        """Whether the server logged `text` during this test."""
        return any(text in line for line in self.server.lines[self._lines_at_start :])

    def diagnostics(self) -> str:
        """What happened in this test, so a failure (a duplicate above all) can be explained:
        the client's requests and answers, the faults injected, the server's log (its retries
        of transient faults counted, every other line kept: an append settled after faults
        says whether its write was stored)."""
        lines = self.server.lines[self._lines_at_start :]
        retries = sum("transient storage fault" in line for line in lines)
        kept = [line for line in lines if "transient storage fault" not in line]
        injected = self.proxy.plan.injected[self._faults_at_start :]
        return "\n".join(
            [
                "client attempts:",
                *self.attempts,
                f"faults injected ({len(injected)}): {injected}",
                f"server log ({retries} retries of transient faults):",
                *kept,
            ]
        )

    def _send(self, method: str, path: str, body: Any, headers: dict[str, str] | None) -> Reply:
        reply = request(
            method,
            self.server.base_url + path,
            key=self.server.keys["acme"],
            json_body=body,
            headers=headers,
        )
        request_id = reply.headers.get("x-request-id", "-")
        self.attempts.append(f"{method} {path} -> {reply.status} (request {request_id})")
        return reply

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        recover: Callable[[], None] | None = None,
    ) -> Reply:
        """Send until an answer other than 503, as a client following Retry-After would (without
        the wait); `recover` runs after the first answer (storage comes back)."""
        for _ in range(CLIENT_ATTEMPTS):
            reply = self._send(method, path, body, headers)
            if recover is not None:
                recover()
                recover = None
            assert reply.status < 500 or reply.status == 503, (reply.status, reply.body)
            if reply.status == 409 and "retry-after" in reply.headers:
                # An Idempotency-Key claim its failed request could not free (storage was still
                # failing): in progress until it expires, so wait as Retry-After says (both
                # envelopes; the ingest one also says `retryable: true`).
                time.sleep(CLAIM_SECONDS + 0.2)
                continue
            if reply.status != 503:
                return reply
            assert int(reply.headers["retry-after"]) >= 1, reply.headers
            retryable = reply.body["retryable"] if "success" in reply.body else True
            assert retryable is True, reply.body
        pytest.fail(f"{method} {path}: still 503 after {CLIENT_ATTEMPTS} attempts")

    def read(self, path: str) -> Any:
        """Read back after the faults, as a client does: a 503 (a call slower than the server's
        short storage deadline on a loaded machine) is retried after its Retry-After."""
        for _ in range(READ_ATTEMPTS):
            reply = self._send("GET", path, None, None)
            if reply.status != 503:
                break
            time.sleep(int(reply.headers["retry-after"]))
        if reply.status != 200:
            self.fail(f"GET {path}: {reply.status} {reply.body}")
        return reply.body

    def fail(self, problem: str) -> NoReturn:
        pytest.fail(f"{problem}\n{self.diagnostics()}")  # in full: an assert would shorten it


@pytest.fixture(scope="module")
def faulty() -> Iterator[Faulty]:
    from moto.server import ThreadedMotoServer

    from devtools.moto_dynamodb import fast_queries, serialize_requests

    serialize_requests()
    fast_queries()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    # Tables made directly (moto's first calls are slow): the server's start finds them.
    storage = boto3.client(
        "dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1"
    )
    for table in create_table_requests(load_template(), TABLE_PREFIX):
        storage.create_table(**table)
    keys_table = table_environment(load_template(), TABLE_PREFIX)["API_KEYS_TABLE"]
    proxy = FaultProxy(f"http://{host}:{port}", READ_TIMEOUT, keys_table).start()
    server = start_server(
        {"acme": new_key()},
        {
            "PARLEY_DYNAMODB_ENDPOINT": proxy.url,
            "PARLEY_STORAGE_DEADLINE_SECONDS": "0.3",
            "PARLEY_DYNAMODB_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
            "PARLEY_IDEMPOTENCY_CLAIM_SECONDS": str(CLAIM_SECONDS),
        },
    )
    yield Faulty(server, proxy)
    server.stop()
    proxy.stop()
    moto.stop()


@pytest.fixture(autouse=True)
def diagnosed(faulty: Faulty) -> None:
    faulty.start_test()


def run_with_faults(
    faulty: Faulty, fault: Fault, operations: tuple[str, ...], send: Callable[[], Reply]
) -> None:
    """Send once under a burst of faults, once under faults lasting until the first answer."""
    plan = faulty.proxy.plan
    plan.clear()
    plan.fail_next(fault, 3, operations)
    assert send().status == 200
    plan.clear()
    plan.fail_always(fault, operations)
    assert send().status == 200
    plan.clear()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def records(faulty: Faulty, conversation: str) -> list[dict[str, Any]]:
    path = f"/v1/conversations/{quote(conversation, safe='')}/records?limit=1000"
    data: list[dict[str, Any]] = faulty.read(path)["data"]
    return data


def assert_once_each(faulty: Faulty, messages: list[str], expected: list[str]) -> None:
    if sorted(messages) != sorted(expected):
        faulty.fail(f"stored {messages}\nsent {expected}")


def assert_appended_once(faulty: Faulty, stored: list[str], acknowledged: list[str]) -> None:
    """Every acknowledged append once, its messages together, in the order acknowledged."""
    if stored != acknowledged:
        faulty.fail(f"stored {stored}\nacknowledged {acknowledged}")


# --- the ingest API ------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_ingest(faulty: Faulty, fault: Fault) -> None:
    conversation = unique("conv")
    sent: list[str] = []

    def send() -> Reply:
        key = unique("key")
        texts = [unique("m") for _ in range(3)]
        sent.extend(texts)
        body = {
            "events": [
                {"conversation_id": conversation, "role": "user", "message": texts[0]},
                {
                    "messageType": "channel",
                    "id": unique("msg"),
                    "conversationId": conversation,
                    "role": "assistant",
                    "message": texts[1],
                },
                {
                    "conversation_id": conversation,
                    "role": "assistant",
                    "message": texts[2],
                    "timestamp": "2024-01-15T10:30:00.123Z",
                },
            ]
        }
        recover = faulty.proxy.plan.clear
        return faulty.call("POST", "/v1/ingest", body, {"Idempotency-Key": key}, recover)

    run_with_faults(faulty, fault, WRITES, send)
    assert_once_each(faulty, [r["message"] for r in records(faulty, conversation)], sent)


@pytest.mark.parametrize("fault", FAULTS)
def test_ingest_multi(faulty: Faulty, fault: Fault) -> None:
    conversation = unique("conv")
    sent: list[str] = []

    def send() -> Reply:
        texts = [unique("m") for _ in range(30)]  # over one BatchWriteItem
        sent.extend(texts)
        events = [
            {
                "messageType": "channel",
                "id": unique("msg"),
                "conversationId": conversation,
                "role": "user",
                "message": text,
            }
            for text in texts
        ]
        return faulty.call("POST", "/v1/ingest/multi", {"events": events}, None, clear(faulty))

    run_with_faults(faulty, fault, WRITES, send)
    assert_once_each(faulty, [r["message"] for r in records(faulty, conversation)], sent)


@pytest.mark.parametrize("fault", FAULTS)
def test_ingest_vogent_raw(faulty: Faulty, fault: Fault) -> None:
    session = unique("session")
    sent: list[str] = []

    def send() -> Reply:
        texts = [unique("u") for _ in range(2)]
        sent.extend(texts)
        call = {
            "id": unique("call"),
            "conversationId": session,
            "transcript": [
                {"text": texts[0], "speaker": "HUMAN", "startTimeMs": 0, "endTimeMs": 10},
                {"text": texts[1], "speaker": "AI", "startTimeMs": 20, "endTimeMs": 30},
            ],
        }
        path = "/v1/ingest/vogent-raw"
        return faulty.call("POST", path, {"events": [call]}, None, clear(faulty))

    run_with_faults(faulty, fault, WRITES, send)
    assert_once_each(faulty, [r["message"] for r in records(faulty, session)], sent)


@pytest.mark.parametrize("fault", READ_FAULTS)
def test_records(faulty: Faulty, fault: Fault) -> None:
    conversation = unique("conv")
    event = {"conversation_id": conversation, "role": "user", "message": "hi", "id": "e1"}
    assert faulty.call("POST", "/v1/ingest", {"events": [event]}).status == 200
    path = f"/v1/conversations/{conversation}/records"

    def send() -> Reply:
        reply = faulty.call("GET", path, recover=clear(faulty))
        assert [r["message"] for r in reply.body["data"]] == ["hi"]
        return reply

    run_with_faults(faulty, fault, READS, send)


# --- the conversations API -----------------------------------------------------------------

BASE = "/api/v1/conversations"


def clear(faulty: Faulty) -> Callable[[], None]:
    return faulty.proxy.plan.clear


@pytest.mark.parametrize("fault", FAULTS)
def test_conversations_create(faulty: Faulty, fault: Fault) -> None:
    prompt = unique("prompt")
    created: list[str] = []

    def send() -> Reply:
        body = {"promptId": prompt, "content": "User: hi", "idempotencyKey": unique("key")}
        reply = faulty.call("POST", BASE, body, None, clear(faulty))
        created.append(reply.body["id"])
        return reply

    run_with_faults(faulty, fault, WRITES, send)
    listed = faulty.read(f"{BASE}?promptId={prompt}&limit=100")
    if sorted(c["id"] for c in listed["data"]) != sorted(created):
        faulty.fail(f"listed {listed['data']}\ncreated {created}")


def key_header(keyed: bool) -> dict[str, str] | None:
    """A new Idempotency-Key for one send (its resends carry the same), or none."""
    return {"Idempotency-Key": unique("key")} if keyed else None


@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "keyed"])
@pytest.mark.parametrize("fault", FAULTS)
def test_conversations_append(faulty: Faulty, fault: Fault, keyed: bool) -> None:
    opened = faulty.call("POST", BASE, {"promptId": "p", "status": "active"})
    conversation = opened.body["id"]
    acknowledged: list[str] = []

    def send() -> Reply:
        texts = [unique("m"), unique("m")]
        messages = [
            {"role": "user", "content": texts[0]},
            {"role": "assistant", "content": texts[1]},
        ]
        path = f"{BASE}/{conversation}/messages"
        headers = key_header(keyed)
        reply = faulty.call("POST", path, {"messages": messages}, headers, clear(faulty))
        acknowledged.extend(texts)
        return reply

    run_with_faults(faulty, fault, WRITES, send)
    stored = [m["content"] for m in faulty.read(f"{BASE}/{conversation}")["messages"]]
    if not keyed and faulty.logged('"outcome": "open"'):
        # Without a key, an append whose write could not be settled within its 2 s (storage
        # unreachable throughout: logged "open") may land after its 503, and its resend then
        # stores it again — the at-least-once case the Guarantees name. Still: nothing lost,
        # nothing but those resends repeated, the order kept.
        if list(dict.fromkeys(stored)) != acknowledged:
            faulty.fail(f"stored {stored}\nacknowledged {acknowledged}")
        return
    assert_appended_once(faulty, stored, acknowledged)


@pytest.mark.parametrize("fault", READ_FAULTS)
@pytest.mark.parametrize("route", ["get", "list", "insights"])
def test_conversations_reads(faulty: Faulty, fault: Fault, route: str) -> None:
    created = faulty.call("POST", BASE, {"promptId": "p", "content": "User: hi\nAI: hello"})
    conversation = created.body["id"]
    path = {
        "get": f"{BASE}/{conversation}",
        "list": f"{BASE}?limit=5",
        "insights": f"{BASE}/{conversation}/insights",
    }[route]

    def send() -> Reply:
        reply = faulty.call("GET", path, recover=clear(faulty))
        if route == "insights":  # 404 while pending; 200 once the local analyzer has run
            assert reply.status in (200, 404), reply.body
            return Reply(200, reply.headers, reply.body)
        return reply

    run_with_faults(faulty, fault, READS, send)


# --- the Converra runs routes (the conversations service under another family) ---------------


@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "keyed"])
@pytest.mark.parametrize("fault", FAULTS)
def test_runs_create(faulty: Faulty, fault: Fault, keyed: bool) -> None:
    """Every acknowledged run is there, whole. Without a key a resend after a lost answer may
    make a second run (docs/guarantees.md); with an `Idempotency-Key`, each send makes exactly
    one."""
    created: list[str] = []
    agent = unique("agent")
    before = faulty.read(f"{BASE}?limit=1")["pagination"]["total"]

    def send() -> Reply:
        body = {"agentId": agent, "content": "User: hi\nAI: hello", "status": "completed"}
        reply = faulty.call("POST", "/api/v1/runs", body, key_header(keyed), clear(faulty))
        created.append(reply.body["data"]["id"])
        return reply

    run_with_faults(faulty, fault, WRITES, send)
    for run in created:
        stored = faulty.read(f"{BASE}/{run}")["messages"]
        assert [m["content"] for m in stored] == ["hi", "hello"]
    if keyed:
        made = faulty.read(f"{BASE}?limit=1")["pagination"]["total"] - before
        if made != len(created):
            faulty.fail(f"{made} runs made for {len(created)} sends: {created}")


@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "keyed"])
@pytest.mark.parametrize("fault", FAULTS)
def test_runs_append(faulty: Faulty, fault: Fault, keyed: bool) -> None:
    opened = faulty.call("POST", BASE, {"promptId": "p", "status": "active"})
    run = opened.body["id"]
    acknowledged: list[str] = []

    def send() -> Reply:
        text = unique("m")
        body = {"messages": [{"role": "user", "content": text}]}
        path = f"/api/v1/runs/{run}/messages"
        reply = faulty.call("POST", path, body, key_header(keyed), clear(faulty))
        acknowledged.append(text)
        return reply

    run_with_faults(faulty, fault, WRITES, send)
    stored = faulty.read(f"{BASE}/{run}")["messages"]
    assert_appended_once(faulty, [m["content"] for m in stored], acknowledged)


def test_faults_were_injected(faulty: Faulty) -> None:
    """The proxy really sat in the path: every kind of fault reached the server."""
    kinds = {fault for _, fault in faulty.proxy.plan.injected}
    assert kinds == set(FAULTS)
