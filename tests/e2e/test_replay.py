"""`parley replay` against a running `make dev`: what was ingested is in the raw archive (the
embedded moto server's S3), and replaying it stores every record exactly once, whether the
records are still there or were lost."""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from devtools.cli import main
from devtools.local import ARCHIVE_BUCKET, local_table
from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.e2e


def parley(server: ServerProcess, *args: str) -> tuple[int, str, str]:
    """The CLI in-process, finding the test's server through its state file only."""
    saved = dict(os.environ)
    for var in (
        "ARCHIVE_BUCKET",
        "RECORDS_TABLE",
        "PARLEY_DYNAMODB_ENDPOINT",
        "PARLEY_S3_ENDPOINT",
    ):
        os.environ.pop(var, None)
    os.environ["PARLEY_DEV_STATE"] = str(server.state_file)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return code, out.getvalue(), err.getvalue()


def records(server: ServerProcess, tenant: str, conversation_id: str) -> list[dict[str, Any]]:
    url = f"{server.base_url}/v1/conversations/{conversation_id}/records?limit=1000"
    reply = request("GET", url, key=server.keys[tenant])
    assert reply.status == 200, reply.body
    data: list[dict[str, Any]] = reply.body["data"]
    return data


def aws(server: ServerProcess, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.dynamodb_endpoint,  # moto's server: every service on one port
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_replay_stores_every_archived_event_exactly_once(server: ServerProcess) -> None:
    tenant = "globex"
    conversation_id = f"replay-{uuid.uuid4().hex[:12]}"
    today = datetime.now(UTC).date().isoformat()
    # Id-less, untimed events without a key: their record ids come from the request id, the
    # case a replay could duplicate if it did not run as the archived request.
    sent = []
    for n in range(3):
        body = {
            "events": [{"conversation_id": conversation_id, "role": "user", "message": f"m{n}"}]
        }
        reply = request(
            "POST", server.base_url + "/v1/ingest", key=server.keys[tenant], json_body=body
        )
        assert reply.status == 200, reply.body
        sent.append(reply.body["requestId"])
    before = records(server, tenant, conversation_id)
    assert [r["message"] for r in before] == ["m0", "m1", "m2"]
    listing = aws(server, "s3").list_objects_v2(Bucket=ARCHIVE_BUCKET, Prefix=f"{tenant}/")
    archived = {o["Key"].rsplit("/", 1)[1] for o in listing["Contents"]}
    assert {f"{request_id}.json.gz" for request_id in sent} <= archived

    code, out, err = parley(server, "replay", "--tenant", tenant, "--since", today)
    assert code == 0, (out, err)
    assert f"Replayed {len(archived)} archived request(s) of tenant {tenant}" in out
    assert records(server, tenant, conversation_id) == before  # still exactly once

    # Records lost (deleted behind the API's back): the replay brings back the same ones.
    table = local_table("RECORDS_TABLE")
    dynamodb = aws(server, "dynamodb")
    for record in before:
        dynamodb.delete_item(
            TableName=table,
            Key={"pk": {"S": f"{tenant}#{conversation_id}"}, "sk": {"S": record["id"]}},
        )
    assert records(server, tenant, conversation_id) == []
    code, out, err = parley(
        server, "replay", "--tenant", tenant, "--since", today, "--until", today
    )
    assert code == 0, (out, err)
    assert records(server, tenant, conversation_id) == before


def test_replay_of_days_without_archive_replays_nothing(server: ServerProcess) -> None:
    code, out, _ = parley(
        server, "replay", "--tenant", "acme", "--since", "2001-01-01", "--until", "2001-01-03"
    )
    assert code == 0
    assert "Replayed 0 archived request(s)" in out


def test_replay_refuses_a_backwards_range(server: ServerProcess) -> None:
    code, _, err = parley(
        server, "replay", "--tenant", "acme", "--since", "2001-01-03", "--until", "2001-01-01"
    )
    assert code == 2
    assert "after --until" in err
