"""The ingest functions' Mangum adapter decodes bodies exactly as Mangum's own does."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mangum.handlers import APIGateway

from shared.gateway import FastBase64Gateway, lambda_handler

CONFIG: Any = {"api_gateway_base_path": "/", "text_mime_types": [], "exclude_headers": []}


def bodies(event: dict[str, Any]) -> tuple[bytes | Exception, bytes | Exception]:
    """(Mangum's decoding, ours) of the event's body: the bytes, or what was raised."""

    def decode(handler: type[APIGateway]) -> bytes | Exception:
        try:
            body: bytes = handler(event, None, CONFIG).body
            return body
        except Exception as exc:
            return exc

    return decode(APIGateway), decode(FastBase64Gateway)


def same(event: dict[str, Any]) -> None:
    theirs, ours = bodies(event)
    if isinstance(theirs, Exception):
        assert type(ours) is type(theirs)
    else:
        assert ours == theirs


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_canonical_base64_decodes_to_the_same_bytes(raw: bytes) -> None:
    event = {"body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    assert bodies(event)[1] == raw
    same(event)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_other_text_decodes_or_fails_as_mangum_does(text: str) -> None:
    same({"body": text, "isBase64Encoded": True})
    same({"body": text, "isBase64Encoded": False})


@pytest.mark.parametrize(
    "event",
    [
        {"body": "aGVs\nbG8=", "isBase64Encoded": True},  # line breaks: lenient decoding
        {"body": "aGVsbG8", "isBase64Encoded": True},  # missing padding
        {"body": "", "isBase64Encoded": True},
        {"body": None, "isBase64Encoded": True},
        {"isBase64Encoded": True},
        {"body": "plain text", "isBase64Encoded": False},
        {"body": "plain text"},
    ],
)
def test_edge_cases_match(event: dict[str, Any]) -> None:
    same(event)


def test_the_handler_uses_it_for_rest_api_events() -> None:
    handler = lambda_handler(lambda *_: None)  # type: ignore[arg-type,return-value]
    event = {"resource": "/v1/ingest", "requestContext": {}}
    assert isinstance(handler.infer(event, None), FastBase64Gateway)
