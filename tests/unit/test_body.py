"""Request bodies: the 5 MB cap while reading, bounded gzip, strict JSON."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncGenerator

import pytest

from shared.body import MAX_BODY_BYTES, UnsupportedEncoding, parse_json, read_body
from shared.errors import BadRequest, PayloadTooLarge


async def _chunks(data: bytes, size: int = 65536) -> AsyncGenerator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def read(data: bytes, encoding: str | None = None, limit: int = MAX_BODY_BYTES) -> bytes:
    # A private loop: asyncio.run() would leave the thread without a current loop for Mangum.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(read_body(_chunks(data), encoding, limit))
    finally:
        loop.close()


class TestSizeLimit:
    def test_body_of_exactly_the_limit_is_read(self) -> None:
        assert len(read(b"x" * 1000, limit=1000)) == 1000

    def test_one_byte_over_the_limit_is_413_naming_limit_and_size(self) -> None:
        with pytest.raises(PayloadTooLarge) as raised:
            read(b"x" * (MAX_BODY_BYTES + 1))
        assert raised.value.message == (
            "Request body is 5,242,881 bytes; the limit is 5,242,880 bytes (5 MB)"
        )

    def test_gzip_body_is_decompressed(self) -> None:
        assert read(gzip.compress(b'{"events": []}'), "gzip") == b'{"events": []}'

    def test_gzip_encoding_name_is_case_insensitive(self) -> None:
        assert read(gzip.compress(b"{}"), " GZIP ") == b"{}"

    def test_gzip_that_inflates_past_the_limit_is_413(self) -> None:
        bomb = gzip.compress(b"0" * (MAX_BODY_BYTES + 10))
        assert len(bomb) < 100_000  # small on the wire
        with pytest.raises(PayloadTooLarge) as raised:
            read(bomb, "gzip")
        assert raised.value.message == (
            "Request body is more than 5,242,880 bytes once decompressed; "
            "the limit is 5,242,880 bytes (5 MB)"
        )

    def test_gzip_bomb_stops_inflating_at_the_limit(self) -> None:
        # 1 GB of zeros would take seconds and a GB of memory if inflated whole.
        bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))
        with pytest.raises(PayloadTooLarge):
            read(bomb, "gzip", limit=1024)

    def test_several_gzip_members_are_concatenated(self) -> None:
        assert read(gzip.compress(b'{"a":') + gzip.compress(b"1}"), "gzip") == b'{"a":1}'

    def test_corrupt_gzip_is_400(self) -> None:
        with pytest.raises(BadRequest, match="not valid gzip"):
            read(b"definitely not gzip", "gzip")

    def test_truncated_gzip_is_400(self) -> None:
        with pytest.raises(BadRequest, match="truncated"):
            read(gzip.compress(b'{"events": []}' * 100)[:-12], "gzip")

    def test_the_stream_is_closed_when_reading_stops_early(self) -> None:
        # Left open, its finalizer would run on a loop Mangum has stopped ("Task was destroyed
        # but it is pending!").
        closed: list[bool] = []

        async def chunks() -> AsyncGenerator[bytes]:
            try:
                yield b"definitely not gzip"
                yield b"never read"
            finally:
                closed.append(True)

        loop = asyncio.new_event_loop()
        try:
            with pytest.raises(BadRequest, match="not valid gzip"):
                loop.run_until_complete(read_body(chunks(), "gzip"))
        finally:
            loop.close()
        assert closed == [True]

    def test_other_encodings_are_415(self) -> None:
        with pytest.raises(UnsupportedEncoding, match="br"):
            read(b"{}", "br")


class TestStrictJson:
    @pytest.mark.parametrize(
        "body",
        [
            b'{"a": NaN}',
            b'{"a": Infinity}',
            b'{"a": -Infinity}',
            b'{"a": 1e400}',
            b'{"a": "\\ud800"}',
            b'{"a": "\\udc00 alone"}',
            b'{"a": "\xff"}',
            b'{"a": 1,}',
            b"{'a': 1}",
        ],
    )
    def test_invalid_json_is_400(self, body: bytes) -> None:
        with pytest.raises(BadRequest, match="not valid JSON"):
            parse_json(body)

    def test_empty_body_is_400(self) -> None:
        with pytest.raises(BadRequest, match="empty"):
            parse_json(b"  ")

    def test_paired_surrogates_are_fine(self) -> None:
        assert parse_json(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}

    def test_64_levels_are_accepted(self) -> None:
        body = b'{"a":' * 63 + b"1" + b"}" * 63 + b""
        nested = parse_json(b"[" + body + b"]")
        assert isinstance(nested, list)

    def test_65_levels_are_400(self) -> None:
        with pytest.raises(BadRequest, match="deeper than 64"):
            parse_json(b"[" * 65 + b"]" * 65)

    def test_deep_nesting_far_past_the_parser_limit_is_400(self) -> None:
        with pytest.raises(BadRequest):
            parse_json(b"[" * 100_000 + b"]" * 100_000)


def test_nesting_depth_counts_levels_of_objects_and_arrays() -> None:
    from tests.support import nesting_depth

    assert nesting_depth("text") == 0
    assert nesting_depth({}) == 1
    assert nesting_depth({"a": [1, {"b": "c"}]}) == 3
    deep: list[object] = []
    for _ in range(5000):  # far past Python's recursion limit: the walk is iterative
        deep = [deep]
    assert nesting_depth(deep) == 5001
