"""The API description kept in the repo (openapi/parley.yaml), as `make dev` serves it."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import yaml

from devtools.template import ROOT

SPEC_FILE = ROOT / "openapi" / "parley.yaml"
SERVED_AT = "/openapi.json"


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text())
    return spec


def spec_json(server_url: str | None = None) -> bytes:
    """The spec as JSON; `server_url`: the server answering (so tools call the right port)."""
    spec = load_spec()
    if server_url:
        spec = {**spec, "servers": [{"url": server_url, "description": "make dev"}]}
    return json.dumps(spec).encode()
