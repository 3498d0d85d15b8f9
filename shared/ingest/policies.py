"""Which model validates which event on `/v1/ingest` and `/v1/ingest/multi`.

`/v1/ingest/vogent-raw`'s policy lives in shared.ingest.vogent, so these functions never import it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from shared.ingest.models import StandardEvent
from shared.ingest.records import IngestEvent
from shared.ingest.service import IngestPolicy


class TypedModels(Mapping[str, type[IngestEvent]]):
    """`messageType` → model, by class name in shared.ingest.channel_models, which is imported
    when a model is first looked up: a cold start whose first request holds chat events only
    never builds the typed models. Keys, order and membership are known without importing."""

    def __init__(self, names: dict[str, str]) -> None:
        self._names = names

    def __getitem__(self, kind: str) -> type[IngestEvent]:
        from shared.ingest import channel_models

        model: type[IngestEvent] = getattr(channel_models, self._names[kind])
        return model

    def __contains__(self, kind: object) -> bool:
        return kind in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"TypedModels({self._names!r})"


# `call_transcript_messages` is always 0: kept because existing clients read it.
CHANNEL_DETAILS = ("channel", "tool_call", "email", "call", "call_transcript_messages")

DIRECT = IngestPolicy(
    route="/v1/ingest",
    typed=TypedModels(
        {
            "channel": "ChannelEvent",
            "tool_call": "ToolCallEvent",
            "email": "EmailEvent",
            "call": "CallEvent",
        }
    ),
    untyped=StandardEvent,
    details_keys=CHANNEL_DETAILS,
)

MULTI = IngestPolicy(
    route="/v1/ingest/multi",
    typed=TypedModels(
        {
            "channel": "ChannelEvent",
            "tool_call": "StrictToolCallEvent",
            "email": "ThreadedEmailEvent",
            "call": "CallEvent",
        }
    ),
    untyped=None,
    untyped_error=(
        "missing 'messageType' (channel, tool_call, email or call); "
        "send standard chat events to POST /v1/ingest"
    ),
    details_keys=CHANNEL_DETAILS,
    details_always=True,
)
