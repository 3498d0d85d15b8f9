"""Vogent raw transcripts fanned out per utterance."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.ingest.codec import record_text
from shared.ingest.vogent import VOGENT_RAW, remove_markers
from tests import seeds
from tests.unit.helpers import batch, error, records

# A complete marker: any `<|...|>` token.
MARKER = re.compile(r"<\|.*?\|>", re.DOTALL)
SEED_CALL: dict[str, Any] = seeds.body("ingest_vogent_raw_call")["events"][0]


def call(*entries: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "c1", "conversationId": "s1", "transcript": list(entries), **fields}


def say(text: str, speaker: str = "AI", **fields: Any) -> dict[str, Any]:
    return {"text": text, "speaker": speaker, **fields}


class TestSeedExample:
    def test_fans_out_into_utterances_and_a_tool_call(self) -> None:
        recs = records(VOGENT_RAW, SEED_CALL)
        assert [r["message_source"] for r in recs] == ["call", "call", "tool_call", "call"]
        assert [r["id"] for r in recs] == [f"call-abc-123_{i}" for i in range(4)]
        assert [r["trace_id"] for r in recs] == [r["id"] for r in recs]
        assert [r.get("message") for r in recs] == [
            "Thank you for calling. How can I help?",
            "I need to check my account balance.",
            None,
            "Your current balance is $1,234.56.",
        ]

    def test_speakers_map_to_roles_and_is_client(self) -> None:
        recs = records(VOGENT_RAW, SEED_CALL)
        assert [(r["role"], r["is_client"]) for r in recs] == [
            ("assistant", False),
            ("user", True),
            ("assistant", False),
            ("assistant", False),
        ]

    def test_call_fields_are_mapped(self) -> None:
        for rec in records(VOGENT_RAW, SEED_CALL):
            assert rec["conversation_id"] == "session-456"
            assert rec["user_id"] == "user-789"
            assert rec["organization_id"] == "org-001"
            assert rec["call_type"] == "phone"

    def test_first_record_carries_duration_and_full_transcript(self) -> None:
        first, *rest = records(VOGENT_RAW, SEED_CALL)
        assert first["duration"] == 9.5  # (10500 - 1000) / 1000
        (block,) = first["content_blocks"]
        assert block == {
            "type": "vogent_call_transcript",
            "call_id": "call-abc-123",
            "transcript": SEED_CALL["transcript"],  # unfiltered, markers included
            "function_calls": [{"name": "lookup_account", "arguments": {"user_id": "user-789"}}],
        }
        assert all("duration" not in r for r in rest)
        assert all(
            b["type"] != "vogent_call_transcript" for r in rest for b in r.get("content_blocks", [])
        )

    def test_function_call_record(self) -> None:
        tool = records(VOGENT_RAW, SEED_CALL)[2]
        assert tool["has_tool_use"] is True
        assert tool["tool_name"] == "lookup_account"
        assert tool["content_blocks"] == [
            {
                "type": "vogent_tool_call",
                "name": "lookup_account",
                "arguments": {"user_id": "user-789"},
            }
        ]
        assert (tool["start_time_ms"], tool["end_time_ms"]) == (7000, 7500)

    def test_details(self) -> None:
        result = batch(VOGENT_RAW, {"events": [SEED_CALL, SEED_CALL | {"id": "other"}]})
        assert VOGENT_RAW.details(result.counts) == {
            "calls": 2,
            "utterances": 6,
            "function_calls": 2,
        }


class TestFanOutRules:
    def test_markers_inside_text_are_removed(self) -> None:
        (rec,) = records(VOGENT_RAW, call(say("Press <|press:1|> one <|silence|>  now")))
        assert rec["message"] == "Press one now"

    @pytest.mark.parametrize(
        ("text", "spoken"),
        [
            ("hello <|silence|> there", "hello there"),  # no double space left behind
            ("hello <|silence|>\tthere", "hello there"),
            ("hello<|silence|> there", "hello there"),
            ("hello <|silence|>there", "hello there"),
            ("hello<|silence|>there", "hellothere"),
            ("a <|x|> <|y|> b", "a b"),
            ("<|a|>b|>", "b|>"),
            ("<|>", "<|>"),  # not a marker: its `|` cannot both open and close
            ("<|a<|b|>", "<|a"),
        ],
    )
    def test_removed_markers_leave_no_double_space(self, text: str, spoken: str) -> None:
        assert remove_markers(text) == spoken

    def test_unknown_markers_are_removed_too(self) -> None:
        recs = records(VOGENT_RAW, call(say("<|dtmf:#|>"), say("<|laugh|> ok")))
        assert [r["message"] for r in recs] == ["ok"]
        assert recs[0]["id"] == "c1_0"

    def test_entry_with_text_and_calls_emits_utterance_first(self) -> None:
        entry = say("Let me look.", functionCalls=[{"name": "a"}, {"name": "b", "arguments": {}}])
        recs = records(VOGENT_RAW, call(entry))
        assert [(r["message_source"], r.get("tool_name")) for r in recs] == [
            ("call", None),
            ("tool_call", "a"),
            ("tool_call", "b"),
        ]
        # the transcript block rides on the first record, the utterance
        assert recs[0]["content_blocks"][0]["type"] == "vogent_call_transcript"

    def test_first_record_may_be_a_tool_call(self) -> None:
        (rec,) = records(VOGENT_RAW, call(say("", functionCalls=[{"name": "f"}])))
        assert [b["type"] for b in rec["content_blocks"]] == [
            "vogent_call_transcript",
            "vogent_tool_call",
        ]

    def test_function_call_id_comes_from_the_entry(self) -> None:
        entry = say("", functionCalls=[{"name": "f", "arguments": {"x": 1}}], functionCallId="fc-9")
        (rec,) = records(VOGENT_RAW, call(entry))
        assert rec["content_blocks"][-1]["functionCallId"] == "fc-9"

    def test_function_responses_are_skipped(self) -> None:
        recs = records(VOGENT_RAW, call(say("hello"), say('{"balance": 1}', detailType="function")))
        assert [r["message"] for r in recs] == ["hello"]

    def test_no_timings_means_no_duration(self) -> None:
        (rec,) = records(VOGENT_RAW, call(say("hi")))
        assert "duration" not in rec
        assert "start_time_ms" not in rec

    def test_duration_uses_the_widest_span(self) -> None:
        recs = records(
            VOGENT_RAW,
            call(
                say("a", startTimeMs=500),
                say("b", endTimeMs=2500.5),
                say("<|hangup|>", endTimeMs=4000),
            ),
        )
        assert recs[0]["duration"] == 3.5

    def test_timings_at_the_bounds_are_kept_as_sent(self) -> None:
        (rec,) = records(VOGENT_RAW, call(say("a", startTimeMs=0, endTimeMs=10**15)))
        assert (rec["start_time_ms"], rec["end_time_ms"]) == (0, 10**15)
        assert isinstance(rec["end_time_ms"], int)
        assert rec["duration"] == 10**12

    @pytest.mark.parametrize(
        ("event", "message"),
        [
            ({"conversationId": "s", "transcript": [say("x")]}, "Missing or invalid 'id' field"),
            (call(say("x"), id=""), "Missing or invalid 'id' field"),
            (call(say("x"), id=7), "Missing or invalid 'id' field"),
            ({"id": "c", "transcript": [say("x")]}, "Missing or invalid 'conversationId' field"),
            (call(say("x"), conversationId=""), "Missing or invalid 'conversationId' field"),
            ({"id": "c", "conversationId": "s"}, "Missing or empty 'transcript' array"),
            (call(), "Missing or empty 'transcript' array"),
            (call(say("x"), transcript="hello"), "Missing or empty 'transcript' array"),
            (
                call(say("a"), say("b"), say("c"), {"speaker": "AI"}),
                "Transcript entry 3 missing 'text' field",
            ),
            (
                call(say("a"), say("b"), say("c"), say("d", speaker="BOT")),
                "Transcript entry 3 has invalid 'speaker' (must be AI or HUMAN)",
            ),
            (
                call(say("a", speaker="human")),
                "Transcript entry 0 has invalid 'speaker' (must be AI or HUMAN)",
            ),
            (call({"text": "a"}), "Transcript entry 0 has invalid 'speaker' (must be AI or HUMAN)"),
            (call("hello"), "Transcript entry 0 must be an object"),
            (
                call(say("<|silence|>"), say("   ")),
                "transcript has no utterances or function calls",
            ),
            (
                call(say("", functionCalls=[{"arguments": {}}])),
                "Transcript entry 0: missing 'functionCalls[0].name'",
            ),
            # Timings are bounded: none overflows computing the duration.
            (
                call(say("a", startTimeMs=0, endTimeMs=int("9" * 400))),
                "Transcript entry 0: endTimeMs must be a number from 0 to "
                "1,000,000,000,000,000 (got an integer of over 38 digits)",
            ),
            (
                call(say("a", startTimeMs=-1)),
                "Transcript entry 0: startTimeMs must be a number from 0 to "
                "1,000,000,000,000,000 (got -1)",
            ),
            (
                call(say("a", startTimeMs="10")),
                "Transcript entry 0: startTimeMs must be a number from 0 to "
                "1,000,000,000,000,000 (got '10')",
            ),
            (
                call(say("a", endTimeMs=True)),
                "Transcript entry 0: endTimeMs must be a number from 0 to "
                "1,000,000,000,000,000 (got true)",
            ),
        ],
    )
    def test_validation_messages(self, event: dict[str, Any], message: str) -> None:
        assert error(VOGENT_RAW, event) == message


# --- properties -------------------------------------------------------------------------------

_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["<|silence|>", "<|hangup|>", "<|press:1|>", "<|x|>", "", " ", "a <|b|> c"]),
)
_number = st.one_of(st.integers(0, 10**7), st.floats(0, 1e7, allow_nan=False))
_function_call = st.fixed_dictionaries(
    {"name": st.text(max_size=10)},
    optional={"arguments": st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)},
)
_entry = st.fixed_dictionaries(
    {"text": _text, "speaker": st.sampled_from(["AI", "HUMAN"])},
    optional={
        "startTimeMs": _number,
        "endTimeMs": _number,
        "detailType": st.sampled_from(["function", "speech"]),
        "functionCalls": st.lists(_function_call, max_size=3),
        "functionCallId": st.text(max_size=5),
    },
)
_call = st.builds(
    lambda i, entries: {"id": f"call-{i}", "conversationId": "s", "transcript": entries},
    st.integers(0, 10**6),
    st.lists(_entry, min_size=1, max_size=12),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_call, min_size=1, max_size=4, unique_by=lambda c: c["id"]))
def test_fan_out_never_raises_and_counts_match(calls: list[dict[str, Any]]) -> None:
    result = batch(VOGENT_RAW, {"events": calls})  # must not raise for any accepted shape
    accepted = {e.index for e in result.errors} ^ set(range(len(calls)))
    for error_ in result.errors:
        assert error_.message == "transcript has no utterances or function calls"
    stored = [json.loads(record_text(p.item["rec"]) or "") for p in result.prepared]
    details = VOGENT_RAW.details(result.counts)
    assert details is not None
    assert details["calls"] == len(accepted)
    assert details["utterances"] + details["function_calls"] == len(stored)
    assert details["function_calls"] == sum(r["message_source"] == "tool_call" for r in stored)
    for rec in stored:
        assert MARKER.search(rec.get("message", "")) is None
        assert rec["id"] == rec["trace_id"]


@pytest.mark.parametrize(
    "text",
    [
        "<|sil<|x|>ence|>",  # removing <|x|> leaves <|silence|>, removed in turn
        "<<|x|>|silence|>",
        "<|<|<|x|>|>|>",
        "<|<|>",  # <| + "<" + |>
    ],
)
def test_markers_formed_by_removing_markers_are_removed(text: str) -> None:
    assert remove_markers(text) == ""
    assert batch(VOGENT_RAW, {"events": [call(say(text))]}).errors[0].message == (
        "transcript has no utterances or function calls"
    )
    (rec,) = records(VOGENT_RAW, call(say(f"ok {text} done")))
    assert rec["message"] == "ok done"


def _remove_one_at_a_time(text: str) -> str:
    """The rule as docs/ingest-api.md states it, slowly: remove the marker that ends first (the
    innermost of those ending there), and again, until none is left."""
    while True:
        for end in range(4, len(text) + 1):
            start = text.rfind("<|", 0, end - 2) if text.endswith("|>", 0, end) else -1
            if start >= 0:
                text = text[:start] + text[end:]
                break
        else:
            return text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="<|>ab \n", max_size=30) | st.text(max_size=30))
def test_marker_removal_property(text: str) -> None:
    spoken = remove_markers(text)
    assert MARKER.search(spoken) is None  # never a complete marker left
    if "  " not in text:
        assert "  " not in spoken  # no double space introduced
    # The same words as removing markers one at a time; only whitespace runs may shrink.
    assert spoken.split() == _remove_one_at_a_time(text).split()
