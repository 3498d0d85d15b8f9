"""A tiny urllib client for the e2e tests (no extra dependencies)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from tests.openapi_check import check_response


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or the raw text when it is not JSON

    def assert_envelope(self, status: int, message: str | None = None) -> None:
        """The ingest API's error envelope, with the gateway's request id."""
        assert self.status == status, (self.status, self.body)
        assert self.body["success"] is False, self.body
        assert self.body["count"] == 0, self.body
        assert self.body["requestId"] == self.headers["x-amzn-requestid"], (self.body, self.headers)
        assert isinstance(self.body["retryable"], bool), self.body
        if message is not None:
            assert self.body["message"] == message, self.body


def request(
    method: str,
    url: str,
    *,
    key: str | None = None,
    json_body: Any = None,
    data: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 20,
) -> Reply:
    all_headers = dict(headers or {})
    if key is not None:
        all_headers.setdefault("Authorization", f"Bearer {key}")
    if json_body is not None:
        data = json.dumps(json_body)
    if isinstance(data, str):
        data = data.encode()
    if data is not None:
        all_headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, headers=all_headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, raw_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, raw_headers, raw = error.code, error.headers, error.read()
    text = raw.decode(errors="replace")
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = text
    check_response(method, url, status, raw_headers.get("Content-Type"), body)
    return Reply(status, {k.lower(): v for k, v in raw_headers.items()}, body)
