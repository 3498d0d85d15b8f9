"""Append cost vs transcript size: one append to a 500-message (~512 KB) conversation against one
append to a 1-message conversation, through the real append handler and the real botocore
client, with HTTP replaced by an in-memory table (bench.stubs style) that answers after
`latency` seconds. Appends are answered but not applied, so every run sees the same state."""

from __future__ import annotations

import json
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse

from bench.bodies import LambdaContext, api_event
from bench.stubs import sending

KB = 1024
LATENCY = 0.010  # per DynamoDB call, as in bar 3
_NO_HEADERS: Any = {}


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


class MemoryTable:
    """Enough of DynamoDB for create (applied), query by pk (consistent) and append (answered
    with success, not applied)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.latency = 0.0
        self._lock = threading.Lock()
        # Encoding an answer is DynamoDB's work, not the handler's: each is encoded once.
        self._answers: dict[str, bytes] = {}

    def send(self, request: Any, **_: Any) -> AWSResponse:
        if self.latency:
            time.sleep(self.latency)
        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        params = json.loads(request.body)
        answer: dict[str, Any] = {}
        if operation == "TransactWriteItems":
            is_create = any(
                "Put" in action and action["Put"]["Item"]["sk"]["S"] == "META"
                for action in params["TransactItems"]
            )
            if is_create:
                with self._lock:
                    for action in params["TransactItems"]:
                        item = action["Put"]["Item"]
                        self.items[(item["pk"]["S"], item["sk"]["S"])] = item
                    self._answers.clear()
        elif operation == "Query":
            pk = params["ExpressionAttributeValues"][":pk"]["S"]
            if pk not in self._answers:
                found = [item for (key, _), item in sorted(self.items.items()) if key == pk]
                answer = {"Items": found, "Count": len(found), "ScannedCount": len(found)}
                self._answers[pk] = json.dumps(answer).encode()
            return AWSResponse(request.url, 200, _NO_HEADERS, _Raw(self._answers[pk]))
        elif operation == "GetItem":
            key = (params["Key"]["pk"]["S"], params["Key"]["sk"]["S"])
            answer = {"Item": self.items[key]} if key in self.items else {}
        else:
            raise ValueError(f"MemoryTable does not do {operation}")
        return AWSResponse(request.url, 200, _NO_HEADERS, _Raw(json.dumps(answer).encode()))


def _event(path: str, resource: str, body: Any, conversation_id: str | None) -> Any:
    event = api_event(path, json.dumps(body).encode(), tenant="bench")
    event["resource"] = event["requestContext"]["resourcePath"] = resource
    event["pathParameters"] = {"id": conversation_id} if conversation_id else None
    return event


@dataclass(frozen=True)
class AppendResult:
    runs: int
    small_ms: list[float]
    large_ms: list[float]
    large_bytes: int
    cpu_small_ms: float  # medians, without latency
    cpu_large_ms: float


def measure(runs: int = 15) -> AppendResult:
    from functions.conversations_append.app import handler as append_handler
    from functions.conversations_create.app import handler as create_handler
    from shared.dynamo import default_client

    append: Any = append_handler
    create: Any = create_handler
    table = MemoryTable()
    context = LambdaContext()

    def make(content: str) -> str:
        body = {"promptId": "p", "status": "active", "content": content}
        path = "/api/v1/conversations"
        raw = create(_event(path, path, body, None), context)
        assert raw["statusCode"] == 200, raw
        conversation_id: str = json.loads(raw["body"])["id"]
        return conversation_id

    def append_once(conversation_id: str) -> float:
        path = f"/api/v1/conversations/{conversation_id}/messages"
        body = {"messages": [{"role": "user", "content": "One more question."}]}
        event = _event(path, "/api/v1/conversations/{id}/messages", body, conversation_id)
        started = time.perf_counter()
        raw = append(event, context)
        elapsed = (time.perf_counter() - started) * 1000
        assert raw["statusCode"] == 200, raw["body"][:300]
        return elapsed

    with sending(default_client(), table.send):
        small = make("User: hello")
        messages = [
            {"role": "user" if i % 2 == 0 else "assistant", "content": f"{i:04d} " + "x" * 995}
            for i in range(499)  # the append makes it 500, the limit
        ]
        large = make(json.dumps({"messages": messages}))
        large_bytes = sum(len(item.get("msgs", {}).get("S", "")) for item in table.items.values())

        def timed(latency: float) -> tuple[list[float], list[float]]:
            table.latency = latency
            small_times, large_times = [], []
            for _ in range(2):  # warm up
                append_once(small)
                append_once(large)
            for _ in range(runs):  # interleaved, so drift hits both alike
                small_times.append(append_once(small))
                large_times.append(append_once(large))
            return small_times, large_times

        small_ms, large_ms = timed(LATENCY)
        cpu_small, cpu_large = timed(0.0)
    return AppendResult(
        runs,
        small_ms,
        large_ms,
        large_bytes,
        statistics.median(cpu_small),
        statistics.median(cpu_large),
    )
