"""Reading request bodies: size cap enforced while reading, bounded gzip, strict JSON."""

from __future__ import annotations

import contextlib
import math
import zlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import orjson
import pydantic_core

from shared.errors import ApiError, BadRequest, PayloadTooLarge

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_JSON_DEPTH = 64


class UnsupportedEncoding(ApiError):
    status = 415


def _too_large(limit: int, actual: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Request body is {actual}; the limit is {limit:,} bytes ({limit // 1048576} MB)"
    )


async def read_body(
    chunks: AsyncGenerator[bytes], content_encoding: str | None, limit: int = MAX_BODY_BYTES
) -> bytes:
    """Collect the body, stopping as soon as it (decompressed) passes `limit`. The stream is
    closed here, even when reading stops early: left to the garbage collector, its finalizer
    would be scheduled on an event loop that Mangum has already stopped ("Task was destroyed
    but it is pending!")."""
    async with contextlib.aclosing(chunks):
        return await _read(chunks, content_encoding, limit)


async def _read(chunks: AsyncIterator[bytes], content_encoding: str | None, limit: int) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        parts: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size <= limit:
                parts.append(chunk)
        if size > limit:  # counted to the end (nothing more is kept) to name the actual size
            raise _too_large(limit, f"{size:,} bytes")
        return b"".join(parts)
    if encoding == "gzip":
        return await _gunzip(chunks, limit)
    raise UnsupportedEncoding(
        f"Unsupported Content-Encoding '{encoding}': send gzip or no encoding"
    )


async def _gunzip(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    out = bytearray()
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        async for chunk in chunks:
            data = chunk
            while data:
                # max_length bounds each step's output: a gzip bomb never inflates past limit+1.
                out += inflater.decompress(data, limit + 1 - len(out))
                if len(out) > limit:
                    raise _too_large(limit, f"more than {limit:,} bytes once decompressed")
                data = inflater.unconsumed_tail
                if inflater.eof and inflater.unused_data:  # a further gzip member follows
                    data = inflater.unused_data
                    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out += inflater.flush()
    except zlib.error as exc:
        raise BadRequest(f"Request body is not valid gzip: {exc}") from None
    if not inflater.eof:
        raise BadRequest("Request body is not valid gzip: the stream is truncated")
    if len(out) > limit:
        raise _too_large(limit, f"more than {limit:,} bytes once decompressed")
    return bytes(out)


def parse_json(body: bytes) -> Any:
    """Parse strictly: invalid UTF-8, NaN/Infinity, lone surrogates and deep nesting are 400s.

    orjson parses a body about a third quicker than jiter (pydantic's parser, whose answers
    this API has always given) and gives the same value for every body both accept, with one
    exception: an integer beyond 64 bits becomes a float. So orjson's value is taken only if
    the one pass over it finds no such float (nor any depth or number problem); any other
    body, and every refused one, is parsed again by jiter, which words the refusal.
    tests/unit/test_body_properties.py holds the two to each other."""
    if not body.strip():
        raise BadRequest("Request body is empty: send a JSON object")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _parse_exactly(body)
    if not _plain_structure(value):
        return _parse_exactly(body)
    return value


def _parse_exactly(body: bytes) -> Any:
    try:
        # jiter rejects NaN/Infinity literals, lone surrogates and invalid UTF-8. Keys are
        # cached (few, repeated); values are not: most are distinct, and caching costs ~10%.
        value = pydantic_core.from_json(body, allow_inf_nan=False, cache_strings="keys")
    except ValueError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}") from None
    _check_structure(value)
    return value


_NOT_FINITE = "Request body is not valid JSON: numbers must be finite"
_NESTED_OR_FLOAT = frozenset({dict, list, float})
# orjson reads integers past 64 bits as floats of at least this size: such a float sends the
# body to jiter (so does a float literal that large, harmlessly).
_FLOAT_BOUND = 2.0**63


def _plain_structure(value: Any) -> bool:
    """Whether the parsed body is within the depth limit and its floats are finite and under
    2**63 in size: one pass, level by level, ~30% quicker than `_check_structure`, which is
    only needed to say which problem a body has. Parsed JSON holds exactly dict/list/float,
    so `type(x)` checks suffice (NaN fails the comparisons too)."""
    bound = _FLOAT_BOUND
    if type(value) is float:
        return -bound < value < bound
    if type(value) is not dict and type(value) is not list:
        return True
    level: list[Any] = [value]
    depth = 0
    check = _NESTED_OR_FLOAT
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return False
        deeper: list[Any] = []
        push = deeper.append
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) in check:
                    if type(child) is not float:
                        push(child)
                    elif not -bound < child < bound:
                        return False
        level = deeper
    return True


def _check_structure(value: Any) -> None:
    # Iterative walk: enforces the depth limit and catches numbers like 1e400 that overflow to
    # inf. Parsed JSON holds exactly dict/list/float, so `type(x) is` checks suffice (and are
    # cheaper than isinstance on this hot path).
    isfinite = math.isfinite
    if type(value) is float and not isfinite(value):
        raise BadRequest(_NOT_FINITE)
    if type(value) is not dict and type(value) is not list:
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadRequest(f"Request body nests deeper than {MAX_JSON_DEPTH} levels")
        for child in node.values() if type(node) is dict else node:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is float and not isfinite(child):
                raise BadRequest(_NOT_FINITE)
