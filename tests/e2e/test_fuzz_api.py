"""schemathesis against `make dev`, from the spec it serves at /openapi.json: generated requests
to every operation of both APIs answer no 5xx, and every answer matches the spec (status,
content type, body). The example count is bounded so the run stays short.

(schemathesis's pytest plugin does not run on this pytest: the operations are parametrized
here and each one's strategy is driven by hypothesis directly.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from devtools.openapi import load_spec
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 12  # per operation (17 operations)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
OPERATIONS = [
    (method.upper(), path)
    for path, item in load_spec()["paths"].items()
    for method in item
    if method in ("get", "post")
]


@pytest.fixture(scope="module")
def served_spec(server: ServerProcess) -> Any:
    return schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_generated_requests(
    served_spec: Any, server: ServerProcess, method: str, path: str
) -> None:
    operation = served_spec[path][method]
    authorization = {"Authorization": f"Bearer {server.keys['acme']}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,  # the same requests every run: a failure here is reproducible
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=authorization, checks=CHECKS, timeout=20)

    answers_as_documented()
