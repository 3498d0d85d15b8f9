"""A small client for Parley's ingest API, for bulk work from the CLI and from scripts.

    from devtools.client import ParleyClient, read_events

    client = ParleyClient("http://127.0.0.1:3000", "prl_…")
    result = client.push(read_events("history.jsonl"), on_refused=print)
    print(result.stored, result.refused)

- Batches within the API's limits (1,000 events and 5 MB of JSON per request), gzipped.
- Each batch carries its own `Idempotency-Key`, kept across that batch's retries, so a retry
  after a lost answer is never stored twice.
- Retries as the source docs advise: 1 s, doubling, capped at 30 s, full jitter; a
  `Retry-After` header is honoured; an answer with `"retryable": false` is never retried.
- A 400 that lists refused events: those are reported (`on_refused`) and never sent again; the
  rest of the batch is sent again without them.
- Bounded memory for any input size: events are read lazily, one batch at a time.

Standard library only (urllib), so a script can copy this one file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

MAX_EVENTS_PER_REQUEST = 1000
# The API's limit is 5 MB of decompressed body; keep room for the envelope around the events.
MAX_BODY_BYTES = 5 * 1024 * 1024 - 4096
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class ParleyError(Exception):
    """An answer the client cannot act on (a bad key, a request-level 400…)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetriesExhausted(ParleyError):
    """A retryable failure that lasted for every allowed attempt."""


class Unreachable(ParleyError):
    """Nothing answers at the base URL (checked once, before any retry loop)."""


@dataclass(frozen=True)
class Refused:
    """An event the API (or the client, for unreadable input) will not store."""

    index: int  # the event's position in the input, 0-based (blank JSONL lines not counted)
    message: str
    field: str | None = None
    event: Any = None  # the event as read, or the raw text when it was not JSON


@dataclass
class PushResult:
    stored: int = 0  # records stored (an event can become several records)
    events_sent: int = 0  # events accepted in a 200
    refused: int = 0
    batches: int = 0
    retries: int = 0
    replayed: int = 0  # requests answered from an earlier identical one: nothing stored again
    events_replayed: int = 0  # the events of those requests (not in events_sent or stored)


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class Transport(Protocol):
    def __call__(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> HttpAnswer: ...


def urllib_transport(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> HttpAnswer:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw_headers, status, data = response.headers, response.status, response.read()
    except urllib.error.HTTPError as error:
        raw_headers, status, data = error.headers, error.code, error.read()
    return HttpAnswer(status, {k.lower(): v for k, v in raw_headers.items()}, data)


class Clock(Protocol):
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 1.0
    max_delay: float = 30.0
    max_attempts: int = 10

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None) -> float:
        """Full jitter over 1 s·2^attempt (capped); never sooner than the server asked."""
        jittered = rng.uniform(0, min(self.max_delay, self.first_delay * 2**attempt))
        return max(jittered, retry_after) if retry_after is not None else jittered


@dataclass
class _Batch:
    indexes: list[int] = field(default_factory=list)
    encoded: list[bytes] = field(default_factory=list)
    size: int = 0


class ParleyClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        route: str = "/v1/ingest",
        environment: str | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        transport: Transport = urllib_transport,
        timeout: float = 60.0,
        max_events: int = MAX_EVENTS_PER_REQUEST,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.route = route
        self.environment = environment
        self.retry = retry or RetryPolicy()
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self._transport = transport
        self._timeout = timeout
        self._max_events = max_events
        self._max_body = max_body_bytes
        self._key_seed: str | None = None
        self._chunk = 0

    def check_reachable(self, timeout: float = 3.0) -> None:
        """One TCP connect to the API's host, so a server that is not running is reported at
        once rather than after the whole retry loop (which is for a server that does answer)."""
        parts = urllib.parse.urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
        except OSError:
            raise Unreachable(
                f"cannot reach Parley at {self.base_url}: is `make dev` running?"
            ) from None

    # --- ingest ---------------------------------------------------------------------------------

    def push(
        self,
        events: Iterable[Any],
        *,
        on_refused: Callable[[Refused], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        key_seed: str | None = None,
    ) -> PushResult:
        """Send every event. `events` may hold `Refused` items (unreadable input), reported as
        they are. `on_progress(n)` is called as n more events are settled (stored or refused).

        `key_seed` (e.g. a digest of the input file): each request's Idempotency-Key is derived
        from it, the chunk's position and the request's body, so sending the same input again
        within the API's 24 h stores nothing twice (`result.replayed` counts those requests).
        Without it, each request gets a random key (still safe across its own retries)."""
        result = PushResult()
        self._key_seed, self._chunk = key_seed, 0

        def refuse(refused: Refused) -> None:
            result.refused += 1
            if on_refused is not None:
                on_refused(refused)
            if on_progress is not None:
                on_progress(1)

        batch = _Batch()
        for index, event in enumerate(events):
            if isinstance(event, Refused):
                refuse(event)
                continue
            encoded = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
            if len(encoded) + 1 > self._max_body:
                refuse(
                    Refused(
                        index,
                        f"event is {len(encoded):,} bytes; a request holds at "
                        f"most {self._max_body:,}",
                        None,
                        event,
                    )
                )
                continue
            if (
                len(batch.indexes) >= self._max_events
                or batch.size + len(encoded) + 1 > self._max_body
            ):
                self._send_batch(batch, result, refuse, on_progress)
                batch = _Batch()
            batch.indexes.append(index)
            batch.encoded.append(encoded)
            batch.size += len(encoded) + 1
        if batch.indexes:
            self._send_batch(batch, result, refuse, on_progress)
        return result

    def _send_batch(
        self,
        batch: _Batch,
        result: PushResult,
        refuse: Callable[[Refused], None],
        on_progress: Callable[[int], None] | None,
    ) -> None:
        indexes, encoded = batch.indexes, batch.encoded
        self._chunk += 1  # in the key: two equal chunks of one file are two chunks to store
        while indexes:
            result.batches += 1
            answer, retries = self._post_events(encoded)
            result.retries += retries
            body = answer.json() or {}
            if answer.status == 200:
                if answer.headers.get("idempotent-replayed") == "true":
                    result.replayed += 1
                    result.events_replayed += len(indexes)
                else:
                    result.stored += int(body.get("count", 0))
                    result.events_sent += len(indexes)
                if on_progress is not None:
                    on_progress(len(indexes))
                return
            errors = body.get("errors") if isinstance(body, dict) else None
            if answer.status in (400, 413) and errors:
                # Refused events are reported and dropped; the rest go again (new key: the
                # body differs). Each round drops at least one event, so this ends.
                dropped = set()
                for error in errors:
                    position = error.get("index")
                    if isinstance(position, int) and 0 <= position < len(indexes):
                        dropped.add(position)
                        refuse(
                            Refused(
                                indexes[position],
                                str(error.get("message")),
                                error.get("field"),
                                json.loads(encoded[position]),
                            )
                        )
                if not dropped:
                    raise ParleyError(_message(answer), answer.status)
                indexes = [i for n, i in enumerate(indexes) if n not in dropped]
                encoded = [e for n, e in enumerate(encoded) if n not in dropped]
                continue
            raise ParleyError(_message(answer), answer.status)

    def _post_events(self, encoded: list[bytes]) -> tuple[HttpAnswer, int]:
        envelope = b'{"events":[' + b",".join(encoded) + b"]"
        if self.environment is not None:
            envelope += b',"environment":' + json.dumps(self.environment).encode()
        envelope += b"}"
        if self._key_seed is None:
            key = str(uuid.uuid4())
        else:  # the same input, chunked the same way, sends the same keys
            seed = f"{self._key_seed}\0{self._chunk}\0".encode()
            key = hashlib.sha256(seed + envelope).hexdigest()
        body = gzip.compress(envelope, compresslevel=5)
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Idempotency-Key": key,  # the same for every retry of this body
        }
        return self._request("POST", self.route, body, headers)

    # --- reading back ---------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        answer, _ = self._request("GET", path + query, None, {})
        if answer.status != 200:
            raise ParleyError(_message(answer), answer.status)
        return answer.json()

    def records(self, conversation_id: str, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every stored record of a conversation, in conversation order."""
        path = f"/v1/conversations/{urllib.parse.quote(conversation_id, safe='')}/records"
        yield from self._pages(path, {"limit": str(page_size)})

    def conversations(self, **filters: str) -> Iterator[dict[str, Any]]:
        """The ingest API's conversations, newest activity first (filters: environment, source,
        since, until)."""
        params = {k: v for k, v in filters.items() if v}
        yield from self._pages("/v1/conversations", {"limit": "200", **params})

    def api_conversations(self) -> Iterator[dict[str, Any]]:
        """The conversations API's conversations (GET /api/v1/conversations), oldest first."""
        cursor: str | None = None
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            page = self.get("/api/v1/conversations", params)
            yield from page["data"]
            cursor = page["pagination"].get("nextCursor")
            if not cursor:
                return

    def search(self, q: str, **filters: str) -> Iterator[dict[str, Any]]:
        """Every hit of a search (GET /v1/search), best first; filters as the API names them
        (environment, source, role, model, conversationId, since, until, sort, metadata.<key>)."""
        params = {k: v for k, v in filters.items() if v}
        yield from self._pages("/v1/search", {"q": q, "limit": "100", **params})

    def every_conversation(self, **filters: str) -> Iterator[dict[str, Any]]:
        """Each of the ingest API's conversations once, even while the list is moving.

        The list is ordered by last activity, which changes while records arrive and while the
        summaries worker catches up: a conversation that moves ahead of the cursor is skipped by
        one walk. So walk again until a whole walk finds no conversation not yet yielded."""
        seen: set[str] = set()
        while True:
            found = False
            for conversation in self.conversations(**filters):
                if conversation["conversationId"] not in seen:
                    seen.add(conversation["conversationId"])
                    found = True
                    yield conversation
            if not found:
                return

    def lake_files(self, since: str = "", until: str = "") -> Iterator[dict[str, Any]]:
        """The caller's analytics lake files (GET /v1/lake/files), each with its download URL."""
        params = {k: v for k, v in (("since", since), ("until", until)) if v}
        yield from self._pages("/v1/lake/files", params)

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            page = self.get(path, {**params, "cursor": cursor} if cursor else params)
            yield from page["data"]
            cursor = page.get("nextCursor")
            if not cursor:
                return

    # --- transport with retries -----------------------------------------------------------------

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[HttpAnswer, int]:
        headers = {**headers, "Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        url = self.base_url + path
        last = "no attempt"
        for attempt in range(self.retry.max_attempts):
            retry_after: float | None = None
            try:
                answer = self._transport(method, url, headers, body, self._timeout)
            except (OSError, urllib.error.URLError) as exc:  # connection refused, reset, timeout
                last = f"{type(exc).__name__}: {exc}"
            else:
                if not _retryable(answer):
                    return answer, attempt
                last = _message(answer)
                retry_after = _retry_after(answer)
            if attempt + 1 < self.retry.max_attempts:
                self._clock.sleep(self.retry.delay(attempt, self._rng, retry_after))
        raise RetriesExhausted(
            f"gave up after {self.retry.max_attempts} attempts; last: {last}", None
        )


def _retryable(answer: HttpAnswer) -> bool:
    body = answer.json()
    if isinstance(body, dict) and isinstance(body.get("retryable"), bool):
        return bool(body["retryable"])
    return answer.status in RETRYABLE_STATUSES


def _retry_after(answer: HttpAnswer) -> float | None:
    raw = answer.headers.get("retry-after")
    try:
        return max(float(raw), 0.0) if raw is not None else None
    except ValueError:
        return None  # an HTTP date: rare from Parley; the jittered delay applies


def _message(answer: HttpAnswer) -> str:
    body = answer.json()
    if isinstance(body, dict):
        error = body.get("error")
        message = body.get("message") or (error.get("message") if isinstance(error, dict) else None)
        if message:
            return f"HTTP {answer.status}: {message}"
    return f"HTTP {answer.status}"


# --- reading input files, lazily --------------------------------------------------------------


def read_events(source: str | Path | IO[str]) -> Iterator[Any]:
    """Events from a JSONL file (one event per line), a JSON file (an array of events, or a
    request body `{"events": [...]}`), or an open text stream (`-`: JSONL, or a JSON array when
    its first character is `[`). Lines or elements that are not JSON come out as `Refused`.
    Memory stays bounded by one event, whatever the file size."""
    if isinstance(source, str | Path):
        path = Path(source)
        with path.open(encoding="utf-8") as stream:
            if path.suffix == ".json":
                yield from _json_document(stream)
            else:
                yield from _json_lines(stream)
        return
    first = _peek(source)
    yield from (_json_document(source, first) if first == "[" else _json_lines(source, first))


def _peek(stream: IO[str]) -> str:
    while True:
        char = stream.read(1)
        if not char or not char.isspace():
            return char


def _json_lines(stream: IO[str], prefix: str = "") -> Iterator[Any]:
    position = 0  # events so far: blank lines are not events
    for number, line in enumerate(_prefixed(stream, prefix), start=1):
        text = line.strip()
        if not text:
            continue
        try:
            yield json.loads(text)
        except ValueError as exc:
            yield Refused(position, f"line {number} is not JSON: {exc}", None, text)
        position += 1


def _prefixed(stream: IO[str], prefix: str) -> Iterator[str]:
    first = stream.readline()
    yield prefix + first
    yield from stream


_CHUNK = 1 << 16
# One element may not grow the buffer past this: a malformed file fails instead of being read
# whole into memory.
_MAX_ELEMENT_CHARS = 32 * 1024 * 1024


def _json_document(stream: IO[str], prefix: str = "") -> Iterator[Any]:
    """The elements of a top-level array (or of the `events` array of an object), decoded one
    at a time from a sliding buffer."""
    decoder = json.JSONDecoder()
    buffer = prefix + stream.read(_CHUNK)
    position = _skip_space(buffer, 0)
    if buffer[position : position + 1] == "{":
        # A request body: everything up to its "events" array is small; find the array.
        while '"events"' not in buffer:
            more = stream.read(_CHUNK)
            if not more:
                raise ValueError('a JSON object input needs an "events" array')
            buffer += more
        position = buffer.index('"events"') + len('"events"')
        position = _skip_space(buffer, position)
        if buffer[position : position + 1] != ":":
            raise ValueError('expected ":" after "events"')
        position = _skip_space(buffer, position + 1)
    if buffer[position : position + 1] != "[":
        raise ValueError('a .json input must be an array of events or {"events": [...]}')
    position += 1
    index = 0
    while True:
        position = _skip_space(buffer, position)
        while position >= len(buffer) - 1:
            more = stream.read(_CHUNK)
            if not more:
                break
            buffer = buffer[position:] + more
            position = _skip_space(buffer, 0)
        if buffer[position : position + 1] == "]":
            return
        while True:
            try:
                value, end = decoder.raw_decode(buffer, position)
                break
            except ValueError:
                more = stream.read(_CHUNK)
                if not more or len(buffer) - position > _MAX_ELEMENT_CHARS:
                    raise ValueError(f"element {index} of the array is not valid JSON") from None
                buffer = buffer[position:] + more
                position = 0
        yield value
        index += 1
        position = _skip_space(buffer, end)
        if buffer[position : position + 1] == ",":
            position += 1
        # Drop what was decoded so the buffer holds about one element.
        buffer, position = buffer[position:], 0


def _skip_space(buffer: str, position: int) -> int:
    while position < len(buffer) and buffer[position].isspace():
        position += 1
    return position
