"""Session-wide fixtures: one moto DynamoDB for the whole run, tables built from template.yaml,
and the raw archive's S3 bucket."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

# Set before any shared module reads its settings: fake credentials, local table names.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    LOG_LEVEL="WARNING",
    ARCHIVE_BUCKET="test-archive",
    # The analytics lake: a folder of this run's own (shared/lake/).
    LAKE_URI=tempfile.mkdtemp(prefix="parley-test-lake-"),
    # The local key that seals webhook secrets (shared/webhooks/crypto.py): this run's own.
    PARLEY_WEBHOOK_KEY_FILE=str(Path(tempfile.mkdtemp(prefix="parley-test-key-")) / "webhook.key"),
)
os.environ.pop("PARLEY_S3_ENDPOINT", None)
os.environ.pop("PARLEY_DYNAMODB_ENDPOINT", None)

from devtools.template import create_table_requests, load_template, table_environment

TABLE_PREFIX = "test"
pytest_plugins = ["tests.webhook_support"]  # the `receiver` and `fake_dns` fixtures
os.environ.update(table_environment(load_template(), TABLE_PREFIX))


def pytest_addoption(parser: pytest.Parser) -> None:
    # `python -m bench.train_insights --select` runs the local analyzer's spec tests with each
    # candidate model it would pick (tests/unit/test_local_analyzer.py).
    parser.addoption(
        "--insights-weights",
        type=Path,
        default=None,
        help="the local analyzer's model file (default: the committed shared/insights/model.npz)",
    )


@pytest.fixture(scope="session")
def dynamodb() -> Iterator[Any]:
    from moto import mock_aws

    from devtools.moto_dynamodb import fast_queries, serialize_requests
    from devtools.queues import create_queues, queue_environment
    from devtools.streams import keep_moto_streams_across_rollbacks
    from shared import services

    serialize_requests()  # concurrent tests: one DynamoDB request at a time, as atomic
    fast_queries()  # as make dev runs
    keep_moto_streams_across_rollbacks()  # the tables have streams (the insights worker's)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for request in create_table_requests(load_template(), TABLE_PREFIX):
            client.create_table(**request)
        # The template's queues too; the functions' queue variables point at them.
        sqs = boto3.client("sqs", region_name="us-east-1")
        urls = create_queues(sqs, load_template(), TABLE_PREFIX)
        os.environ.update(queue_environment(load_template(), urls))
        boto3.client("s3", region_name="us-east-1").create_bucket(
            Bucket=os.environ["ARCHIVE_BUCKET"]
        )
        services.reset()
        yield client
        services.reset()


@pytest.fixture(scope="session")
def api_keys(dynamodb: Any) -> dict[str, str]:
    """One active key for each of two tenants, `acme` and `globex`."""
    from shared import services
    from shared.dynamo import Deadline

    return {
        tenant: services.key_store().create(tenant, Deadline(5))[0] for tenant in ("acme", "globex")
    }


@pytest.fixture
def conversation_id() -> str:
    """A conversation id no other test uses (the store is shared by the whole session)."""
    return f"conv-{uuid.uuid4().hex[:12]}"


_API_KEY = re.compile(r"prl_[A-Za-z0-9_-]{32,}")


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        from shared.logs import JsonFormatter

        self.lines.append(JsonFormatter().format(record))


@pytest.fixture(scope="session", autouse=True)
def logs_never_carry_keys() -> Iterator[_LogCollector]:
    """Every record the service logs during the whole run, checked at the end: no API key."""
    collector = _LogCollector()
    logging.getLogger("parley").addHandler(collector)
    yield collector
    logging.getLogger("parley").removeHandler(collector)
    leaked = [line for line in collector.lines if _API_KEY.search(line)]
    assert not leaked, f"API keys in the logs: {leaked[:3]}"
