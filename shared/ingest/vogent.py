"""Raw Vogent call transcripts (`POST /v1/ingest/vogent-raw`).

One call fans out into one record per spoken utterance and one `tool_call` record per embedded
function call, in transcript order. Record `i` of call `id` has id and trace_id `{id}_{i}`.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cached_property
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import ErrorDetails

from shared.fields import Identifier, Milliseconds, describe_error, invalid
from shared.ingest.records import IngestEvent, Record, RecordContext
from shared.ingest.service import IngestPolicy

# A marker is any `<|...|>` token: <|silence|>, <|hangup|>, <|press:N|>, and ones not yet
# known. `remove_markers` only needs to see the characters they are made of.
_MARKER_CHARS = re.compile(r"([<|>])")


def remove_markers(text: str) -> str:
    """`text` without its markers, innermost first, as if removed one at a time until none is
    left: removing `<|x|>` from `<|sil<|x|>ence|>` leaves `<|silence|>`, which goes too. Where
    a removed marker sat between two whitespace runs only the first is kept, so
    `hello <|silence|> there` reads `hello there`.

    One pass over the text (a stack of open `<|`), so nesting cannot make it quadratic."""
    if "<|" not in text:
        return text
    out: list[str] = []  # single `<`, `|`, `>` characters and the runs between them
    openers: list[int] = []  # index in `out` of the `<` of each `<|` not yet closed
    after_removal = False
    for piece in _MARKER_CHARS.split(text):
        if after_removal and out and out[-1][-1].isspace():
            piece = piece.lstrip()
        if not piece:
            continue
        after_removal = False
        if piece == "|" and out and out[-1] == "<":
            openers.append(len(out) - 1)
        elif piece == ">" and out and out[-1] == "|":
            # `|>` closes the innermost `<|` whose own `|` it is not (`<|>` is no marker, but
            # in `<|<|>` the second `|` closes the first `<|`).
            own = bool(openers) and openers[-1] == len(out) - 2
            closed = len(openers) - (2 if own else 1)
            if closed >= 0:
                del out[openers[closed] :]
                del openers[closed:]
                after_removal = True
                continue
        out.append(piece)
    return "".join(out)


SPEAKER_ROLES = {"HUMAN": "user", "AI": "assistant"}


class FunctionCall(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    name: str
    arguments: Any = None


class TranscriptEntry(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    text: str
    speaker: Literal["AI", "HUMAN"]
    start_time_ms: Milliseconds | None = Field(None, alias="startTimeMs")
    end_time_ms: Milliseconds | None = Field(None, alias="endTimeMs")
    detail_type: str | None = Field(None, alias="detailType")
    function_calls: list[FunctionCall] | None = Field(None, alias="functionCalls")
    function_call_id: str | None = Field(None, alias="functionCallId")

    @property
    def is_function_response(self) -> bool:
        return self.detail_type == "function"

    @cached_property  # asked by the validator and again by the fan-out
    def spoken_text(self) -> str:
        """The text with action markers removed; empty when nothing was said."""
        if self.is_function_response:
            return ""
        return remove_markers(self.text).strip()

    @property
    def calls(self) -> list[FunctionCall]:
        return [] if self.is_function_response else list(self.function_calls or ())


class VogentCall(IngestEvent):
    message_type: ClassVar[str] = "call"
    label: ClassVar[str] = "Call"
    copied_fields: ClassVar[tuple[str, ...]] = ("user_id", "organization_id", "call_type")

    id: Identifier
    conversation_id: Identifier = Field(alias="conversationId")
    user_id: str | None = Field(None, alias="userId")
    organization_id: str | None = Field(None, alias="organizationId")
    call_type: str | None = Field(None, alias="callType")
    transcript: list[TranscriptEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _emits_something(self) -> VogentCall:
        # A call that would store nothing is refused, so no transcript is silently dropped.
        if not any(entry.spoken_text or entry.calls for entry in self.transcript):
            raise invalid("transcript has no utterances or function calls")
        return self

    @classmethod
    def describe(cls, error: ErrorDetails) -> str:
        loc = error["loc"]
        if loc[:1] == ("id",):
            return "Missing or invalid 'id' field"
        if loc[:1] == ("conversationId",):
            return "Missing or invalid 'conversationId' field"
        if loc == ("transcript",):
            return "Missing or empty 'transcript' array"
        if len(loc) >= 2 and loc[0] == "transcript":
            entry = loc[1]
            if len(loc) == 2:
                return f"Transcript entry {entry} must be an object"
            if loc[2] == "text":
                if error["type"] == "missing":
                    return f"Transcript entry {entry} missing 'text' field"
                return f"Transcript entry {entry} has invalid 'text' field (must be a string)"
            if loc[2] == "speaker":
                return f"Transcript entry {entry} has invalid 'speaker' (must be AI or HUMAN)"
            detail = describe_error({**error, "loc": loc[2:]}, "")
            return f"Transcript entry {entry}: {detail}"
        return describe_error(error, cls.label)

    def texts(self) -> list[tuple[str, str]]:
        return [(f"transcript[{i}].text", e.text) for i, e in enumerate(self.transcript)]

    def texts_in_records(self) -> bool:
        return True  # the first record's transcript block holds the transcript as sent

    def duration_seconds(self) -> float | None:
        starts = [e.start_time_ms for e in self.transcript if e.start_time_ms is not None]
        ends = [e.end_time_ms for e in self.transcript if e.end_time_ms is not None]
        if not starts or not ends:
            return None
        return (max(ends) - min(starts)) / 1000

    def to_records(self, ctx: RecordContext) -> list[Record]:
        records: list[Record] = []

        def emit(source: str, entry: TranscriptEntry) -> Record:
            rid = f"{self.id}_{len(records)}"
            record = self.new_record(
                ctx, record_id=rid, conversation_id=self.conversation_id, source=source
            )
            record["trace_id"] = rid
            if entry.start_time_ms is not None:
                record["start_time_ms"] = entry.start_time_ms
            if entry.end_time_ms is not None:
                record["end_time_ms"] = entry.end_time_ms
            records.append(record)
            return record

        all_calls: list[dict[str, Any]] = []
        for entry in self.transcript:
            if text := entry.spoken_text:
                record = emit("call", entry)
                record["role"] = SPEAKER_ROLES[entry.speaker]
                record["is_client"] = entry.speaker == "HUMAN"
                record["message"] = text
            for call in entry.calls:
                fields = _call_fields(call, entry)
                record = emit("tool_call", entry)
                record["role"] = "assistant"
                record["is_client"] = False
                record["tool_name"] = call.name
                record["tool_call_request"] = call.arguments
                record["has_tool_use"] = True
                record["content_blocks"] = [{"type": "vogent_tool_call", **fields}]
                all_calls.append(fields)

        first = records[0]
        if (duration := self.duration_seconds()) is not None:
            first["duration"] = duration
        transcript_block = {
            "type": "vogent_call_transcript",
            "call_id": self.id,
            "transcript": ctx.raw["transcript"],  # as sent: markers and responses included
            "function_calls": all_calls,
        }
        first["content_blocks"] = [transcript_block, *first.get("content_blocks", ())]
        return records

    def count_into(self, details: Counter[str], records: list[Record]) -> None:
        details["calls"] += 1
        for record in records:
            details[
                "function_calls" if record["message_source"] == "tool_call" else "utterances"
            ] += 1


def _call_fields(call: FunctionCall, entry: TranscriptEntry) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": call.name, "arguments": call.arguments}
    call_id = (call.__pydantic_extra__ or {}).get("functionCallId") or entry.function_call_id
    if call_id is not None:
        fields["functionCallId"] = call_id
    return fields


VOGENT_RAW = IngestPolicy(
    route="/v1/ingest/vogent-raw",
    typed={},
    untyped=VogentCall,
    details_keys=("calls", "utterances", "function_calls"),
    details_always=True,
)
