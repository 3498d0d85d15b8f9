"""GET /v1/search and `parley search` against `python -m devtools.server`, over a lake folder
written per the lake contract (tests/lake_support.py): compacted partitions indexed through the
compaction hook, stream batches read as the tail."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.search import index
from shared.settings import get_settings
from tests import lake_support
from tests.e2e.conftest import ServerProcess, new_key, start_server
from tests.e2e.test_cli_data import parley
from tests.lake_support import row

pytestmark = pytest.mark.e2e

HITS = 230  # more than two CLI pages of 100


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    lake = tmp_path_factory.mktemp("lake")
    saved = os.environ.get("LAKE_URI")
    os.environ["LAKE_URI"] = str(lake)
    get_settings.cache_clear()
    start = datetime(2026, 3, 1, 8, tzinfo=UTC)
    compacted = [
        row(
            "finder",
            f"rec_{i:03}",
            f"customer {i} asked for a refund",
            ts=start + timedelta(hours=i),
        )
        for i in range(HITS - 1)
    ]
    index.on_compacted(
        "finder", lake_support.by_day(lake_support.write(lake, compacted, kind="compacted"))
    )
    lake_support.write(
        lake,
        [
            row("finder", "rec_tail", "Refunds arrive today", environment="staging"),
            row("finder", "rec_cafe", "Un café, et mon remboursement ?", conversation_id="conv-fr"),
            row("other", "rec_other", "refund for another tenant"),
        ],
    )
    running = start_server({"finder": new_key(), "other": new_key()}, {"LAKE_URI": str(lake)})
    try:
        yield running
    finally:
        if saved is None:
            os.environ.pop("LAKE_URI", None)
        else:
            os.environ["LAKE_URI"] = saved
        get_settings.cache_clear()
        assert running.stop(signal.SIGINT) == 0, running.output


def get(dev: ServerProcess, tenant: str, **params: str) -> tuple[int, Any]:
    url = f"{dev.base_url}/v1/search?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {dev.keys[tenant]}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_search_over_http_finds_index_and_tail_hits(dev: ServerProcess) -> None:
    status, body = get(dev, "finder", q="refunds", environment="staging")
    assert status == 200, body
    [hit] = body["data"]
    assert hit["recordId"] == "rec_tail"
    [[start, end]] = hit["highlights"]
    assert hit["snippet"][start:end] == "Refunds"

    status, body = get(dev, "finder", q="cafe", conversationId="conv-fr")
    assert [h["recordId"] for h in body["data"]] == ["rec_cafe"]

    status, body = get(dev, "finder", q="refund", limit="5")
    assert status == 200
    assert len(body["data"]) == 5
    assert body["nextCursor"]


def test_a_tenant_sees_only_its_own_hits(dev: ServerProcess) -> None:
    status, body = get(dev, "other", q="refund")
    assert status == 200
    assert [h["recordId"] for h in body["data"]] == ["rec_other"]
    _, page = get(dev, "finder", q="refund", limit="1")
    status, body = get(dev, "other", q="refund", limit="1", cursor=page["nextCursor"])
    assert status == 400
    assert "cursor" in body["message"]


def test_a_bad_query_is_a_400_naming_it(dev: ServerProcess) -> None:
    status, body = get(dev, "finder", q='"refund')
    assert status == 400
    assert "unbalanced quote" in body["message"]
    assert body["success"] is False


def test_cli_pages_through_every_hit(dev: ServerProcess) -> None:
    code, out, err = parley(
        "search", "refund", "--since", "2026-01-01", "--json", state=dev.state_file
    )
    assert code == 0, err
    hits = [json.loads(line) for line in out.splitlines()]
    assert len(hits) == HITS  # the compacted ones and the tail's "Refunds arrive today"
    assert len({h["recordId"] for h in hits}) == HITS

    code, out, err = parley("search", "remboursement", state=dev.state_file)
    assert code == 0, err
    assert "conv-fr" in out
    assert "1 hits." in err


def test_cli_reports_a_bad_query(dev: ServerProcess) -> None:
    code, _, err = parley("search", 'refund "card', state=dev.state_file)
    assert code == 1
    assert "unbalanced quote" in err
