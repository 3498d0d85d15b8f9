"""Every answer the tests see is checked against openapi/parley.yaml: the status is documented
for its route (or covered by the route's `default`), and a JSON body validates against the
schema documented for it."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from jsonschema import Draft202012Validator

from devtools.openapi import load_spec


@lru_cache(maxsize=1)
def _routes() -> list[tuple[re.Pattern[str], str]]:
    """(pattern, documented path), literal paths first (`/runs` before `/runs/{id}`)."""
    paths = sorted(load_spec()["paths"], key=lambda p: p.count("{"))
    return [
        (re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(p)) + "$"), p) for p in paths
    ]


def documented_path(path: str) -> str | None:
    return next((doc for pattern, doc in _routes() if pattern.match(path)), None)


@lru_cache(maxsize=256)
def _validator(pointer: str) -> Draft202012Validator:
    """A validator for the schema at a JSON pointer of the spec, its $refs resolving there."""
    spec = load_spec()
    node: Any = spec
    for part in pointer.split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return Draft202012Validator({"allOf": [node], "components": spec["components"]})


def _resolve(node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A response object, following one $ref: (the object, its pointer if it was a ref)."""
    ref = node.get("$ref")
    if ref is None:
        return node, None
    target: Any = load_spec()
    pointer = ref.removeprefix("#/")
    for part in pointer.split("/"):
        target = target[part]
    return target, pointer


def check_response(
    method: str, url_or_path: str, status: int, content_type: str | None, body: Any
) -> None:
    """Raise AssertionError if this answer contradicts the spec; answers to routes the spec
    does not have (unknown paths, the gateway's 404/403 for them) are not checked here."""
    path = unquote(urlsplit(url_or_path).path)
    documented = documented_path(path)
    if documented is None:
        return
    operations = load_spec()["paths"][documented]
    if method.lower() not in operations:
        return  # no such route: the gateway's answer, not an operation's
    responses = operations[method.lower()]["responses"]
    key = str(status) if str(status) in responses else "default"
    assert key in responses, f"{method} {documented}: status {status} is not documented"
    response, pointer = _resolve(responses[key])
    media = (content_type or "").split(";")[0].strip().lower()
    if body is None or body == "" or method.upper() == "HEAD":
        return
    content = response.get("content", {})
    assert media in content, f"{method} {documented} {status}: {media!r} is not documented"
    if media != "application/json" or isinstance(body, bytes | str):
        return  # binary (protobuf) or not JSON: nothing to validate
    base = pointer or _pointer_of(documented, method, key)
    escaped_media = media.replace("/", "~1")
    validator = _validator(f"{base}/content/{escaped_media}/schema")
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, (
        f"{method} {documented} {status}: the body does not match the spec: "
        + "; ".join(f"{'/'.join(map(str, e.path)) or '(body)'}: {e.message}" for e in errors[:5])
    )


def _pointer_of(documented: str, method: str, key: str) -> str:
    escaped = documented.replace("~", "~0").replace("/", "~1")
    return f"paths/{escaped}/{method.lower()}/responses/{key}"
