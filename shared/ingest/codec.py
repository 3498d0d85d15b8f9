"""How a record's JSON is kept in the records table's `rec` attribute.

Written since the cost work (docs/performance.md "Stored records"): a binary value, one
format byte and then the JSON as a zstd frame compressed with a preset dictionary of what
every record repeats (its key names and usual values). A 1 KB chat event's item drops from
about 1.4 KB (2 write units) to about 0.7 KB (1 write unit). Written before it: the JSON as a
string. Every reader takes both (`record_text`), so nothing needs migrating.

zstd rather than zlib: on 1 KB records it stores about 10% more than zlib at level 6 with the
same dictionary but takes a third of the CPU, and this runs once per record on the ingest
path. The format byte names the codec and dictionary, so a later dictionary gets a new byte
while old items stay readable; a dictionary, once shipped, never changes.
"""

from __future__ import annotations

import base64
import binascii
import sys
import threading
from typing import Any

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

# Format 1: a zstd frame (any level, no checksum: DynamoDB keeps the bytes intact) with
# _DICTIONARY_1 as raw content. The most frequent strings go last: matches near the input
# are the cheapest to code.
FORMAT_ZSTD_1 = 1
_DICTIONARY_1 = (
    b'"metadata":{"extra":{"tool_calls":[{"type":"function","function":{"name":"arguments":'
    b'"tool_call_id":"tool_name":"tool_input":"tool_output":"status":"error":"duration_ms":'
    b'"channel":"thread_id":"sender":"subject":"from":"to":"call_id":"speaker":"transcript":'
    b'"parent_span_id":"span_id":"service_name":"input_tokens":"output_tokens":"total_tokens":'
    b'"cost_usd":"model":"gpt-4o","provider":"openai","anthropic","user_id":"session_id":'
    b'"role":"user","role":"assistant","role":"system","role":"tool","content":"message":"'
    b',"received_at":"20,"request_id":"req_,"has_tool_use":false,"has_tool_use":true,'
    b'"trace_id":"{"id":"rec_","conversation_id":"conv_","message_source":"chat",'
    b'"environment":"production","timestamp":"20'
)
# Level 1: on the bench's 1 KB records it stores within 2% of the default level (3) for 84% of
# its CPU; the fast levels (below 1) halve the CPU but store 20% more, and storage is billed
# per byte every month while the CPU is paid once (docs/performance.md "Stored records").
_LEVEL = 1
_DICTIONARY = zstd.ZstdDict(_DICTIONARY_1, is_raw=True)
_PREFIX = bytes((FORMAT_ZSTD_1,))
_FLUSH_FRAME = zstd.ZstdCompressor.FLUSH_FRAME
# A compressor keeps its loaded dictionary between records (loading it is half the cost of a
# 1 KB record); one per thread, since a compressor is not shared safely.
_local = threading.local()


def encode(json_bytes: bytes) -> dict[str, bytes]:
    """The `rec` attribute value of a record's JSON."""
    try:
        compressor = _local.compressor
    except AttributeError:
        compressor = _local.compressor = zstd.ZstdCompressor(
            _LEVEL, zstd_dict=_DICTIONARY.as_digested_dict
        )
    return {"B": _PREFIX + compressor.compress(json_bytes, _FLUSH_FRAME)}


def record_text(value: Any) -> str | None:
    """The record's JSON from a stored `rec` attribute value: either form, as boto3 returns it
    (bytes) or as a Lambda stream event carries it (base64 text). None when it is neither
    (written by hand, cut short, or an unknown format): the caller's undecodable path."""
    if not isinstance(value, dict):
        return None
    text = value.get("S")
    if isinstance(text, str):
        return text
    packed = value.get("B")
    if isinstance(packed, str):
        try:
            packed = base64.b64decode(packed, validate=True)
        except (binascii.Error, ValueError):
            return None
    if not isinstance(packed, bytes | bytearray) or packed[:1] != _PREFIX:
        return None
    try:
        decompressor = zstd.ZstdDecompressor(_DICTIONARY.as_digested_dict)
        json_bytes = decompressor.decompress(packed[1:])
        if not decompressor.eof or decompressor.unused_data:
            return None  # cut short, or more than one frame
        return json_bytes.decode()
    except (zstd.ZstdError, UnicodeDecodeError):
        return None
