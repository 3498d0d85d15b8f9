"""Which model validates which event on `/v1/ingest` and `/v1/ingest/multi`.

`/v1/ingest/vogent-raw`'s policy lives in shared.ingest.vogent, so these functions never import it.
"""

from __future__ import annotations

from shared.ingest.models import (
    CallEvent,
    ChannelEvent,
    EmailEvent,
    StandardEvent,
    StrictToolCallEvent,
    ThreadedEmailEvent,
    ToolCallEvent,
)
from shared.ingest.service import IngestPolicy

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
