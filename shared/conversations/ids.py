"""Conversation ids: `conv_` + a ULID (26 Crockford base32 characters: 48 bits of milliseconds,
then 80 random bits), so ids sort by creation time and listing newest-first is a descending
read of the id."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "conv_"
ID_RE = re.compile(r"conv_[0-7][0-9A-HJKMNP-TV-Z]{25}")


def new_conversation_id(now: datetime) -> str:
    value = (int(now.timestamp() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return PREFIX + "".join(reversed(chars))


def new_agent_id(now: datetime) -> str:
    """An agent's id: `agent_` + a ULID, like a conversation's."""
    return "agent_" + new_conversation_id(now).removeprefix(PREFIX)


def is_conversation_id(value: str) -> bool:
    return ID_RE.fullmatch(value) is not None
