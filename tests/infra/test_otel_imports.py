"""Only the OTel functions pay for protobuf at cold start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devtools.template import ROOT, functions, load_template

FUNCTIONS = functions(load_template())
OTEL = {"OtelTracesFunction", "OtelMetricsFunction", "OtelLogsFunction"}


def loads_protobuf(module: str) -> bool:
    code = f"import sys, {module}; print('google.protobuf' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip() == "True"


def test_the_otel_functions_exist() -> None:
    assert set(FUNCTIONS) >= OTEL


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_protobuf_is_imported_only_by_the_otel_functions(logical_id: str) -> None:
    assert loads_protobuf(FUNCTIONS[logical_id].module_name) == (logical_id in OTEL)
