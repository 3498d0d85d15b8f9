"""Search with the lake on S3 (moto), as in Lambda: the compaction hook builds the index on a
local copy and publishes it beside the records; the search function copies index and tail to
its cache by ETag."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared.search import index, service
from shared.search.models import parse_request
from shared.settings import get_settings
from tests import lake_support
from tests.lake_support import row

pytestmark = pytest.mark.usefixtures("dynamodb")  # moto's AWS, session-wide

BUCKET = "test-search-lake"


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A staging folder whose files the test uploads to s3://BUCKET/lake/."""
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("LAKE_URI", f"s3://{BUCKET}/lake")
    monkeypatch.setenv("PARLEY_SEARCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PARLEY_SEARCH_INDEX_REFRESH_SECONDS", "0")
    get_settings.cache_clear()
    yield tmp_path / "staging"
    get_settings.cache_clear()


def upload(staging: Path, paths: list[Path]) -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    uris = []
    for path in paths:
        key = "lake/" + path.relative_to(staging).as_posix()
        s3.upload_file(str(path), BUCKET, key)
        uris.append(f"s3://{BUCKET}/{key}")
    return uris


def keys(prefix: str) -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"].removeprefix(prefix) for o in listed)


def found(tenant: str, q: str) -> list[str]:
    page = service.search(tenant, parse_request([("q", q)]))
    return sorted(h.record_id for h in page.hits)


def compact(staging: Path, tenant: str, rows: list[dict[str, Any]], generation: str) -> None:
    uris = upload(staging, lake_support.write(staging, rows, "compacted", generation))
    index.on_compacted(tenant, {uri.split("/date=")[1].split("/")[0]: uri for uri in uris})


def test_index_and_tail_on_s3(lake: Path) -> None:
    tenant = f"s3-{uuid.uuid4().hex[:8]}"
    compact(lake, tenant, [row(tenant, "r1", "refund please"), row(tenant, "r2", "hello")], "1")
    folder = f"lake/index/tenant={tenant}/"
    published = keys(folder)
    assert "meta.json" in published
    assert "partitions.json" in published
    upload(lake, lake_support.write(lake, [row(tenant, "r3", "refunds, twice")]))

    assert found(tenant, "refund") == ["r1", "r3"]

    # A new generation of the day: r1 changed, the old segments go once no longer named.
    compact(
        lake,
        tenant,
        [row(tenant, "r1", "all good now", version=2), row(tenant, "r2", "a refund")],
        "2",
    )
    assert keys(folder) != published
    assert found(tenant, "refund") == ["r2", "r3"]
    assert found(tenant, "good") == ["r1"]
    assert found(f"{tenant}-other", "refund") == []
