"""How a record's JSON is kept in the records table's `rec` attribute.

Written since the cost work (docs/performance.md "Stored records"): a binary value, one
format byte and then the JSON as a zstd frame compressed with a preset dictionary of what
every record repeats (its key names and usual values). A 1 KB chat event's item drops from
about 1.4 KB (2 write units) to about 0.8 KB (1 write unit). Written before it: the JSON as a
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
from typing import Any, Final

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

# Format 1: a zstd frame (no checksum: DynamoDB keeps the bytes intact) with _DICTIONARY_1 as
# raw content, at any level (the reader does not need it). The most frequent strings go last:
# matches near the input are the cheapest to code.
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
# Two levels. DynamoDB bills whole 1 KB write units, so for a record that fits its item's first
# unit either way only the CPU differs: the fast level (-1) takes under half the time of the
# default (3) on a 1 KB chat record, for ~25% more bytes. Past that unit every byte counts
# toward the next one, so larger records take the default level.
FAST_LEVEL = -1
STRONG_LEVEL = 3
# The fast form is tried when it can fit: on chat records it keeps well under half the input.
_FAST_TRY_RATIO = 2
_DICTIONARY = zstd.ZstdDict(_DICTIONARY_1, is_raw=True)
_PREFIX = bytes((FORMAT_ZSTD_1,))
_FLUSH_FRAME: Final = zstd.ZstdCompressor.FLUSH_FRAME
# A compressor keeps its loaded dictionary between records (loading it is half the cost of a
# 1 KB record); one per thread and level, since a compressor is not shared safely.
_local = threading.local()


def _compressor(level: int) -> zstd.ZstdCompressor:
    try:
        compressors: dict[int, zstd.ZstdCompressor] = _local.compressors
    except AttributeError:
        compressors = _local.compressors = {}
    compressor = compressors.get(level)
    if compressor is None:
        compressor = compressors[level] = zstd.ZstdCompressor(
            level, zstd_dict=_DICTIONARY.as_digested_dict
        )
    return compressor


def encode(json_bytes: bytes, room: int = 0) -> dict[str, bytes]:
    """The `rec` attribute value of a record's JSON. `room`: the bytes `rec` can take before
    its item needs another write unit; within it the fast level's form is kept."""
    if len(json_bytes) <= room * _FAST_TRY_RATIO:
        packed = _compressor(FAST_LEVEL).compress(json_bytes, _FLUSH_FRAME)
        if len(packed) < room:  # the format byte takes the last one
            return {"B": _PREFIX + packed}
    return {"B": _PREFIX + _compressor(STRONG_LEVEL).compress(json_bytes, _FLUSH_FRAME)}


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
