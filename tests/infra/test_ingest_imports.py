"""An ingest function's cold start loads only what its first request needs (docs/performance.md,
Profile findings, cold start): not the API's read routes and what only they use, and not the typed
event models until a typed event arrives."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devtools.template import ROOT

# Loaded by the records and conversations functions, or by the first typed event.
NOT_ON_THE_COLD_PATH = (
    "shared.ingest.read_endpoints",
    "shared.ingest.summaries",
    "shared.ingest.channel_models",
    "shared.query",
    "shared.cursors",
    "shared.auth",
)


def loaded(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "module",
    ["functions.ingest.app", "functions.ingest_multi.app", "functions.ingest_vogent_raw.app"],
)
def test_an_ingest_function_loads_no_read_route_nor_typed_model(module: str) -> None:
    modules = loaded(module)
    assert module in modules
    assert not modules & set(NOT_ON_THE_COLD_PATH)


@pytest.mark.parametrize(
    ("module", "route"),
    [
        ("functions.records.app", "shared.ingest.read_endpoints"),
        ("functions.ingest_conversations.app", "shared.ingest.read_endpoints"),
    ],
)
def test_the_read_functions_load_their_routes(module: str, route: str) -> None:
    assert route in loaded(module)
