"""The ingest policies' tables of typed models (shared/ingest/policies.py): every
`messageType` names a model of that type, looked up without importing the typed models until
one is asked for."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devtools.template import ROOT
from shared.ingest.policies import DIRECT, MULTI, TypedModels
from shared.ingest.records import IngestEvent
from shared.ingest.service import IngestPolicy


@pytest.mark.parametrize("policy", [DIRECT, MULTI], ids=["direct", "multi"])
def test_every_message_type_has_its_model(policy: IngestPolicy) -> None:
    typed = policy.typed
    assert list(typed) == ["channel", "tool_call", "email", "call"]
    for kind, model in typed.items():
        assert issubclass(model, IngestEvent)
        assert model.message_type == kind


def test_the_two_routes_differ_where_the_replaced_api_does() -> None:
    assert DIRECT.typed["channel"] is MULTI.typed["channel"]
    assert DIRECT.typed["call"] is MULTI.typed["call"]
    assert DIRECT.typed["tool_call"] is not MULTI.typed["tool_call"]
    assert issubclass(MULTI.typed["tool_call"], DIRECT.typed["tool_call"])
    assert DIRECT.typed["email"] is not MULTI.typed["email"]


def test_an_unknown_type_is_neither_in_nor_found() -> None:
    typed = TypedModels({"channel": "ChannelEvent"})
    assert "sms" not in typed
    assert 3 not in typed
    with pytest.raises(KeyError):
        typed["sms"]
    assert dict(typed) == {"channel": DIRECT.typed["channel"]}


def test_keys_and_membership_do_not_import_the_typed_models() -> None:
    code = (
        "import sys\n"
        "from shared.ingest.policies import DIRECT, MULTI\n"
        "assert 'channel' in DIRECT.typed and len(MULTI.typed) == 4 and list(DIRECT.typed)\n"
        "print('shared.ingest.channel_models' in sys.modules)\n"
        "DIRECT.typed['email']\n"
        "print('shared.ingest.channel_models' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True"]
