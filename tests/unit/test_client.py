"""devtools.client with a fake clock and a fake transport: batching, retries, refusals."""

from __future__ import annotations

import gzip
import io
import json
import random
from typing import Any

import pytest

from devtools.client import (
    HttpAnswer,
    ParleyClient,
    ParleyError,
    Refused,
    RetriesExhausted,
    RetryPolicy,
    read_events,
)


class FakeClock:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


class FakeApi:
    """Answers from a script, then 200s; records every request as decoded."""

    def __init__(self, script: list[HttpAnswer] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []

    def __call__(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> HttpAnswer:
        decoded = json.loads(gzip.decompress(body)) if body else None
        self.requests.append({"method": method, "url": url, "headers": headers, "body": decoded})
        if self.script:
            return self.script.pop(0)
        count = len(decoded["events"]) if decoded else 0
        return answer(200, {"success": True, "count": count})


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpAnswer:
    return HttpAnswer(status, headers or {}, json.dumps(body).encode())


def client(api: FakeApi, clock: FakeClock, **kwargs: Any) -> ParleyClient:
    return ParleyClient(
        "http://parley.test", "prl_k", transport=api, clock=clock, rng=random.Random(7), **kwargs
    )


def events(n: int, size: int = 10) -> list[dict[str, Any]]:
    return [{"conversation_id": f"c{i}", "role": "user", "message": "x" * size} for i in range(n)]


def test_batches_stay_within_1000_events_and_gzip_with_a_key_each() -> None:
    api, clock = FakeApi(), FakeClock()
    result = client(api, clock, environment="staging").push(events(2500))
    assert [len(r["body"]["events"]) for r in api.requests] == [1000, 1000, 500]
    assert all(r["headers"]["Content-Encoding"] == "gzip" for r in api.requests)
    assert all(r["body"]["environment"] == "staging" for r in api.requests)
    keys = {r["headers"]["Idempotency-Key"] for r in api.requests}
    assert len(keys) == 3
    assert api.requests[0]["headers"]["Authorization"] == "Bearer prl_k"
    assert (result.stored, result.events_sent, result.refused, result.retries) == (2500, 2500, 0, 0)
    assert clock.sleeps == []


def test_batches_stay_within_the_body_size() -> None:
    api, clock = FakeApi(), FakeClock()
    client(api, clock, max_body_bytes=10_000).push(events(30, size=900))
    sizes = [len(json.dumps(r["body"]["events"], separators=(",", ":"))) for r in api.requests]
    assert all(size <= 10_000 for size in sizes)
    assert sum(len(r["body"]["events"]) for r in api.requests) == 30


def test_an_event_too_large_for_any_request_is_refused_locally() -> None:
    api, clock = FakeApi(), FakeClock()
    refused: list[Refused] = []
    result = client(api, clock, max_body_bytes=1_000).push(
        [*events(1), *events(1, size=5_000)], on_refused=refused.append
    )
    assert [r.index for r in refused] == [1]
    assert result.refused == 1
    assert result.events_sent == 1


def test_retries_double_from_1s_capped_at_30s_with_full_jitter_and_the_same_key() -> None:
    failing = answer(503, {"success": False, "retryable": True})
    api, clock = FakeApi([failing] * 7), FakeClock()
    result = client(api, clock).push(events(3))
    assert result.retries == 7
    assert len({r["headers"]["Idempotency-Key"] for r in api.requests}) == 1
    ceilings = [1, 2, 4, 8, 16, 30, 30]
    assert len(clock.sleeps) == 7
    assert all(0 <= s <= c for s, c in zip(clock.sleeps, ceilings, strict=True))


def test_retry_after_is_honoured() -> None:
    throttled = answer(429, {"success": False, "retryable": True}, {"retry-after": "12"})
    api, clock = FakeApi([throttled]), FakeClock()
    client(api, clock).push(events(1))
    assert clock.sleeps[0] >= 12


def test_retryable_false_is_never_retried() -> None:
    api, clock = FakeApi([answer(401, {"success": False, "message": "bad key"})]), FakeClock()
    with pytest.raises(ParleyError, match="bad key"):
        client(api, clock).push(events(1))
    assert len(api.requests) == 1
    assert clock.sleeps == []


def test_connection_errors_are_retried_then_given_up() -> None:
    clock = FakeClock()

    def down(*args: Any) -> HttpAnswer:
        raise ConnectionRefusedError("refused")

    parley = ParleyClient(
        "http://parley.test", "k", transport=down, clock=clock, retry=RetryPolicy(max_attempts=4)
    )
    with pytest.raises(RetriesExhausted, match="ConnectionRefusedError"):
        parley.push(events(1))
    assert len(clock.sleeps) == 3


def test_a_400s_refused_events_are_reported_and_the_rest_sent_without_them() -> None:
    refusal = answer(
        400,
        {
            "success": False,
            "retryable": False,
            "errors": [
                {"index": 1, "field": "role", "message": "bad role"},
                {"index": 3, "field": None, "message": "bad event"},
            ],
        },
    )
    api, clock = FakeApi([refusal]), FakeClock()
    refused: list[Refused] = []
    batch = events(5)
    result = client(api, clock).push(batch, on_refused=refused.append)
    assert [(r.index, r.field, r.message) for r in refused] == [
        (1, "role", "bad role"),
        (3, None, "bad event"),
    ]
    assert refused[0].event == batch[1]
    resent = api.requests[1]["body"]["events"]
    assert resent == [batch[0], batch[2], batch[4]]
    assert (
        api.requests[1]["headers"]["Idempotency-Key"]
        != api.requests[0]["headers"]["Idempotency-Key"]
    )
    assert (result.events_sent, result.refused) == (3, 2)
    assert clock.sleeps == []


def test_a_request_level_400_stops_the_push() -> None:
    api = FakeApi([answer(400, {"success": False, "message": "environment must be one of"})])
    with pytest.raises(ParleyError, match="environment"):
        client(api, FakeClock()).push(events(2))


def test_progress_counts_every_event_once() -> None:
    seen: list[int] = []
    stream = [*events(3), Refused(3, "line 4 is not JSON"), *events(1500)]
    client(FakeApi(), FakeClock()).push(stream, on_progress=seen.append)
    assert sum(seen) == 1504


def test_read_events_streams_jsonl_and_json(tmp_path: Any) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"a": 1}\n\nnot json\n{"a": 2}\n')
    read = list(read_events(jsonl))
    assert read[0] == {"a": 1}
    assert isinstance(read[1], Refused)
    assert read[1].index == 1
    assert "line 3" in read[1].message
    assert read[2] == {"a": 2}

    array = tmp_path / "b.json"
    array.write_text(json.dumps([{"n": i, "pad": "y" * 5000} for i in range(100)]))
    assert [e["n"] for e in read_events(array)] == list(range(100))

    body = tmp_path / "c.json"
    body.write_text(json.dumps({"environment": "staging", "events": [{"n": 1}, {"n": 2}]}))
    assert list(read_events(body)) == [{"n": 1}, {"n": 2}]

    assert list(read_events(io.StringIO('  [{"s": 1}, {"s": 2}]'))) == [{"s": 1}, {"s": 2}]
    assert list(read_events(io.StringIO('{"s": 1}\n{"s": 2}\n'))) == [{"s": 1}, {"s": 2}]


def test_read_events_is_lazy() -> None:
    class Endless(io.StringIO):
        def readline(self, size: int | None = -1) -> str:
            return '{"x": 1}\n'

        def __iter__(self) -> Any:
            while True:
                yield '{"x": 1}\n'

    reader = read_events(Endless())
    assert [next(reader) for _ in range(3)] == [{"x": 1}] * 3


def test_every_conversation_walks_the_list_again_until_nothing_new_turns_up() -> None:
    """A conversation whose activity moved ahead of the cursor is missed by one walk of the
    list (here c3 moves to the top between the pages); the next walk finds it."""
    pages = [
        # first walk: c3 moved to the top after page 1 was read, so neither page holds it
        {"data": [{"conversationId": "c1"}, {"conversationId": "c2"}], "nextCursor": "p2"},
        {"data": [{"conversationId": "c4"}], "nextCursor": None},
        # second walk: c3 is listed (first), the rest again
        {"data": [{"conversationId": "c3"}, {"conversationId": "c1"}], "nextCursor": "p2"},
        {"data": [{"conversationId": "c2"}, {"conversationId": "c4"}], "nextCursor": None},
        # third walk: nothing new, so the export ends
        {"data": [{"conversationId": "c3"}, {"conversationId": "c1"}], "nextCursor": "p2"},
        {"data": [{"conversationId": "c2"}, {"conversationId": "c4"}], "nextCursor": None},
    ]
    api = FakeApi([answer(200, page) for page in pages])
    listed = [c["conversationId"] for c in client(api, FakeClock()).every_conversation()]
    assert listed == ["c1", "c2", "c4", "c3"]
    assert len(api.requests) == len(pages)


def test_a_key_seed_gives_each_chunk_the_same_key_on_every_run() -> None:
    first, again, other = FakeApi(), FakeApi(), FakeApi()
    same = [{"conversation_id": "c", "role": "user", "message": "same"}] * 2000
    client(first, FakeClock()).push(same, key_seed="file-digest")
    client(again, FakeClock()).push(same, key_seed="file-digest")
    client(other, FakeClock()).push(same, key_seed="another-file")
    keys = [r["headers"]["Idempotency-Key"] for r in first.requests]
    assert keys == [r["headers"]["Idempotency-Key"] for r in again.requests]
    assert len(set(keys)) == 2  # two equal chunks of one file are still two chunks
    assert not set(keys) & {r["headers"]["Idempotency-Key"] for r in other.requests}


def test_replayed_chunks_are_counted_apart_from_stored_ones() -> None:
    replayed = answer(200, {"success": True, "count": 1000}, {"idempotent-replayed": "true"})
    api = FakeApi([replayed])
    result = client(api, FakeClock()).push(events(1500), key_seed="digest")
    assert (result.replayed, result.events_replayed) == (1, 1000)
    assert (result.stored, result.events_sent) == (500, 500)
