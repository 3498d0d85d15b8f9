"""Clusters end to end over a local lake written per the lake contract: re-clustering,
assignment of new conversations, stable ids, the API through the real handlers (list, detail,
paging, 404, bad parameters), tenant isolation, the scheduled functions' handlers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.clusters.app import handler as clusters_handler
from shared import services
from tests import lake_support
from tests.lake_support import row
from tests.support import api_event, invoke

NOW = datetime.now(UTC).replace(microsecond=0)
TOPICS = {
    "refund": "refund charged twice invoice money back refund payment card refund",
    "login": "login password reset locked account two factor code login password",
    "shipping": "parcel delivery tracking courier shipping address parcel delayed",
}


def conversation(
    tenant: str, cid: str, topic: str, days_ago: float, env: str = "production"
) -> list[dict[str, Any]]:
    """A user message and an assistant answer about `topic`, `days_ago` days back."""
    ts = NOW - timedelta(days=days_ago)
    words = TOPICS[topic].split()
    common = {"conversation_id": cid, "ts": ts, "environment": env}
    return [
        row(tenant, f"{cid}-u", " ".join(words) + " thanks today", seq="1", **common),
        row(tenant, f"{cid}-a", " ".join(words[:6]), role="assistant", seq="2", **common),
    ]


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "lake"
    monkeypatch.setenv("LAKE_URI", str(folder))
    services.reset()
    yield folder
    services.reset()


def seed(lake: Path, tenant: str, per_topic: int = 8, env: str = "production") -> list[str]:
    rows = []
    ids = []
    for topic in TOPICS:
        for n in range(per_topic):
            cid = f"{topic}-{env}-{n}"
            ids.append(cid)
            rows += conversation(tenant, cid, topic, days_ago=n % 10, env=env)
    lake_support.write(lake, rows)
    return ids


def ask(tenant: str, path: str = "/api/v1/clusters", **query: str) -> Any:
    return invoke(clusters_handler, api_event("GET", path, tenant=tenant, query=query or None))


def test_conversations_are_clustered_by_topic_listed_and_paged(lake: Path) -> None:
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    seed(lake, tenant)
    outcome = services.cluster_service().recluster(tenant)
    assert outcome.conversations == 24
    answer = ask(tenant)
    assert answer.status == 200, answer.body
    clusters = answer.body["data"]
    assert sorted(c["size"] for c in clusters) == [8, 8, 8]
    for c in clusters:
        assert set(c) >= {"id", "label", "size", "trend", "sampleConversationIds"}
        assert len(c["sampleConversationIds"]) == 3
        topics = {s.split("-")[0] for s in c["sampleConversationIds"]}
        assert len(topics) == 1  # one topic per cluster
        assert c["label"]
        assert all(w not in c["label"] for w in ("the", "today", "thanks"))
        assert c["trend"]["last7Days"] + c["trend"]["previous7Days"] == 8
    refund = next(c for c in clusters if c["sampleConversationIds"][0].startswith("refund"))
    assert set(refund["terms"]) <= set(TOPICS["refund"].split())
    assert refund["label"] == ", ".join(refund["terms"])
    first = ask(tenant, f"/api/v1/clusters/{refund['id']}", limit="5")
    assert first.status == 200, first.body
    assert len(first.body["members"]) == 5
    second = ask(
        tenant,
        f"/api/v1/clusters/{refund['id']}",
        limit="5",
        cursor=first.body["pagination"]["nextCursor"],
    )
    assert second.status == 200
    assert second.body["pagination"]["nextCursor"] is None
    seen = [m["conversationId"] for m in first.body["members"] + second.body["members"]]
    assert sorted(seen) == sorted(f"refund-production-{n}" for n in range(8))


def members_by_cluster(tenant: str) -> dict[str, set[str]]:
    found = {}
    for c in ask(tenant).body["data"]:
        detail = ask(tenant, f"/api/v1/clusters/{c['id']}", limit="200")
        found[c["id"]] = {m["conversationId"] for m in detail.body["members"]}
    return found


def test_the_users_turns_decide_a_conversations_cluster(lake: Path) -> None:
    """The service reads the user's turns apart (role `user`): a refund request answered at
    length about the parcel's delivery joins the refunds, not the deliveries."""
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    seed(lake, tenant)
    common = {"conversation_id": "mixed-1", "ts": NOW - timedelta(hours=1)}
    answer = " ".join([TOPICS["shipping"]] * 3)
    lake_support.write(
        lake,
        [
            row(tenant, "mixed-1-u", "refund charged twice money back please", seq="1", **common),
            row(tenant, "mixed-1-a", answer, role="assistant", seq="2", **common),
        ],
    )
    services.cluster_service().recluster(tenant)
    (home,) = [m for m in members_by_cluster(tenant).values() if "mixed-1" in m]
    assert {m.split("-")[0] for m in home - {"mixed-1"}} == {"refund"}


def test_a_new_conversation_is_assigned_to_the_nearest_cluster_and_ids_stay(lake: Path) -> None:
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    seed(lake, tenant)
    service = services.cluster_service()
    service.recluster(tenant)
    before = {c["id"]: c["size"] for c in ask(tenant).body["data"]}
    lake_support.write(lake, conversation(tenant, "login-new-1", "login", days_ago=0))
    assert service.assign(tenant).conversations == 1
    assert service.assign(tenant).conversations == 0  # nothing new: nothing done
    after = {c["id"]: c for c in ask(tenant).body["data"]}
    grown = [i for i in after if after[i]["size"] == before[i] + 1]
    assert len(grown) == 1
    assert "login-new-1" in after[grown[0]]["sampleConversationIds"]
    # Re-clustering with one more member keeps every id.
    service.recluster(tenant)
    assert set(c["id"] for c in ask(tenant).body["data"]) == set(before)


def test_clusters_of_another_embedder_are_remade_not_assigned_to(lake: Path) -> None:
    """Centroids made by another embedder (or an older version of this one) are in another
    space: the assigner re-clusters instead, and ids follow the members."""
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    seed(lake, tenant)
    service = services.cluster_service()
    service.recluster(tenant)
    model = service.store.load_model(tenant)
    assert model is not None
    assert model.embedder == service.embedder.name
    ids = {c.id for c in model.clusters}
    service.store.save_model(tenant, replace(model, embedder="local-hashed-v1"))
    lake_support.write(lake, conversation(tenant, "login-new-2", "login", days_ago=0))
    outcome = service.assign(tenant)
    assert outcome.reclustered
    assert outcome.conversations == 25
    remade = service.store.load_model(tenant)
    assert remade is not None
    assert remade.embedder == service.embedder.name
    assert {c.id for c in remade.clusters} == ids


def test_tenants_and_environments_are_separate(lake: Path) -> None:
    mine, theirs = f"t-{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:6]}"
    seed(lake, mine)
    seed(lake, mine, per_topic=4, env="staging")
    seed(lake, theirs)
    service = services.cluster_service()
    service.recluster(mine)
    assert ask(theirs).body["data"] == []  # not clustered yet, and never sees mine
    staging = ask(mine, environment="staging").body["data"]
    assert sum(c["size"] for c in staging) == 12
    assert all(c["environment"] == "staging" for c in staging)
    production_id = ask(mine, environment="production").body["data"][0]["id"]
    assert ask(theirs, f"/api/v1/clusters/{production_id}").status == 404


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        ("/api/v1/clusters", {"since": "yesterday"}, "since"),
        ("/api/v1/clusters", {"until": "2026-02-30"}, "until"),
        ("/api/v1/clusters", {"since": "2026-02-02", "until": "2026-02-01"}, "since"),
        ("/api/v1/clusters", {"colour": "red"}, "colour"),
        ("/api/v1/clusters", {"environment": ""}, "environment"),
        ("/api/v1/clusters/cl_x", {"limit": "0"}, "limit"),
        ("/api/v1/clusters/cl_x", {"cursor": "forged"}, "cursor"),
        ("/api/v1/clusters/cl_x", {"environment": "production"}, "environment"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(
    lake: Path, path: str, query: dict[str, str], named: str
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    seed(lake, tenant, per_topic=3)
    services.cluster_service().recluster(tenant)
    cluster_id = ask(tenant).body["data"][0]["id"]
    answer = ask(tenant, path.replace("cl_x", cluster_id), **query)
    assert answer.status == 400, answer.body
    assert list(answer.body["error"]["details"]) == [named]


def test_unknown_cluster_is_a_404(lake: Path) -> None:
    answer = ask("nobody", "/api/v1/clusters/cl_000000000000")
    assert answer.status == 404
    assert answer.body["error"]["code"] == "NOT_FOUND"


def test_since_and_until_count_members_by_their_latest_message(lake: Path) -> None:
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    seed(lake, tenant)
    services.cluster_service().recluster(tenant)
    since = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sizes = [c["size"] for c in ask(tenant, since=since).body["data"]]
    # days_ago = n % 10 for n in 0..7: 0, 1 and 2 days ago are within (2 is at the edge)
    assert sum(sizes) in (6, 9)


def _event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((Path("events") / name).read_text())
    return loaded


def test_scheduled_handlers_recluster_and_assign_every_tenant(lake: Path) -> None:
    from functions.cluster_assign.app import handler as assign_handler
    from functions.clustering.app import handler as clustering_handler

    tenant = f"t-{uuid.uuid4().hex[:6]}"
    seed(lake, tenant, per_topic=3)
    first = assign_handler(_event("cluster_assign_schedule.json"), None)
    assert first["tenants"][0]["reclustered"] is True  # no clusters yet: clustered first
    again = clustering_handler(_event("clustering_schedule.json"), None)
    assert again["tenants"][0]["conversations"] == 9
