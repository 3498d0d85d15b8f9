"""Which model validates which event on each ingest endpoint (CONTRACT §2.1-2.3)."""

from __future__ import annotations

from shared.events import (
    CallEvent,
    ChannelEvent,
    EmailEvent,
    StandardEvent,
    StrictToolCallEvent,
    ThreadedEmailEvent,
    ToolCallEvent,
)
from shared.ingest import IngestPolicy
from shared.vogent import VogentCall

# `call_transcript_messages` is always 0: kept because existing clients read it.
CHANNEL_DETAILS = ("channel", "tool_call", "email", "call", "call_transcript_messages")

DIRECT = IngestPolicy(
    route="/v1/ingest",
    typed={
        "channel": ChannelEvent,
        "tool_call": ToolCallEvent,
        "email": EmailEvent,
        "call": CallEvent,
    },
    untyped=StandardEvent,
    details_keys=CHANNEL_DETAILS,
)

MULTI = IngestPolicy(
    route="/v1/ingest/multi",
    typed={
        "channel": ChannelEvent,
        "tool_call": StrictToolCallEvent,
        "email": ThreadedEmailEvent,
        "call": CallEvent,
    },
    untyped=None,
    untyped_error=(
        "missing 'messageType' (channel, tool_call, email or call); "
        "send standard chat events to POST /v1/ingest"
    ),
    details_keys=CHANNEL_DETAILS,
    details_always=True,
)

VOGENT_RAW = IngestPolicy(
    route="/v1/ingest/vogent-raw",
    typed={},
    untyped=VogentCall,
    details_keys=("calls", "utterances", "function_calls"),
    details_always=True,
)
