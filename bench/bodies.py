"""Realistic request bodies and the API Gateway events that carry them.

Everything is deterministic (seeded), so two runs measure the same bytes.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

_WORDS = tuple(
    " ".join(
        (
            "the model answered with a short summary of the quarterly report and then asked",
            "whether customer wants detailed breakdown by region product line churn revenue",
            "forecast please confirm shipping address order number refund policy weather",
            "tomorrow in Paris Tokyo latency budget deploy staging production rollback",
            "incident postmortem résumé café naïve",
        )
    ).split()
)
_MODELS = (
    ("gpt-4o-2024-08-06", "openai"),
    ("claude-3-5-sonnet", "anthropic"),
    ("gemini-1.5", "google"),
)
_TOOLS = ("search_orders", "get_weather", "lookup_customer", "create_ticket")


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[: max(chars, 1)]


def _timestamp(i: int) -> str:
    return f"2024-01-15T{10 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"


def _standard(rng: random.Random, i: int) -> dict[str, Any]:
    model, provider = _MODELS[i % len(_MODELS)]
    role = "user" if i % 2 == 0 else "assistant"
    event: dict[str, Any] = {
        "conversation_id": f"conv-{i // 20:04d}",
        "role": role,
        "timestamp": _timestamp(i),
        "trace_id": f"trace-{i // 4:05d}",
        "user_id": f"user-{i % 37:03d}",
        "model": model,
        "provider": provider,
        "input_tokens": rng.randint(50, 4000),
        "output_tokens": rng.randint(10, 1500),
        "metadata": {"session": f"s-{i // 50}", "temperature": 0.7, "tags": ["beta", "eu"]},
    }
    if i % 10 != 0:  # most clients send their own id; some rely on content-derived ids
        event["id"] = f"msg-{i:06d}"
    if role == "assistant" and i % 3 == 0:
        event["reasoning_tokens"] = rng.randint(0, 800)
        event["prompt_id"] = "prompt-support"
        event["prompt_version"] = "7"
    if i % 5 == 1:  # tool use, as content blocks beside the message
        event["content_blocks"] = [
            {"type": "text", "text": ""},
            {
                "type": "tool_use",
                "tool_name": _TOOLS[i % len(_TOOLS)],
                "tool_use_id": f"tu_{i}",
                "input": {"query": _text(rng, 40), "limit": 10},
            },
        ]
    elif i % 5 == 3:  # content as a list of blocks instead of `message`
        event["content"] = [{"type": "text", "text": ""}, {"type": "thinking", "text": "ok"}]
    if "content" not in event:
        event["message"] = ""
    return event


def _channel(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "messageType": "channel",
        "id": f"chan-{i:06d}",
        "conversationId": f"conv-{i // 20:04d}",
        "role": "user" if i % 2 == 0 else "assistant",
        "message": "",
        "userId": f"user-{i % 37:03d}",
        "timestamp": _timestamp(i),
        "metadata": {"channel": "slack", "thread": f"t-{i // 7}"},
    }


def _tool_call(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "messageType": "tool_call",
        "id": f"tool-{i:06d}",
        "conversationId": f"conv-{i // 20:04d}",
        "name": _TOOLS[i % len(_TOOLS)],
        "timestamp": _timestamp(i),
        "toolCallRequest": {"query": "", "filters": {"status": "open", "limit": 20}},
        "toolCallResponse": {"results": [{"id": n, "score": 0.5 + n / 10} for n in range(3)]},
    }


def _fill(rng: random.Random, event: dict[str, Any], target: int) -> dict[str, Any]:
    """Grow the event's main text so the event serializes to about `target` bytes."""
    room = max(target - len(json.dumps(event)), 16)
    if "content_blocks" in event:  # the text is split between the message and its text block
        event["message"] = _text(rng, room // 2)
        event["content_blocks"][0]["text"] = _text(rng, room - room // 2)
    elif "message" in event:
        event["message"] = _text(rng, room)
    elif "content" in event:
        event["content"][0]["text"] = _text(rng, room)
    else:
        event["toolCallRequest"]["query"] = _text(rng, room)
    return event


def ingest_events(
    count: int = 1000, event_bytes: int = 1000, seed: int = 7
) -> list[dict[str, Any]]:
    """Mixed `/v1/ingest` events: 70% standard chat (some with blocks), 15% channel and
    15% tool_call."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        slot = i % 20
        make = _channel if slot in (4, 11, 17) else _tool_call if slot in (6, 13, 19) else _standard
        events.append(_fill(rng, make(rng, i), event_bytes))
    return events


def _utterance(rng: random.Random, speaker: str, at: int, chars: int) -> dict[str, Any]:
    text = _text(rng, chars)
    if rng.random() < 0.1:
        text += " <|silence|>"
    return {"speaker": speaker, "text": text, "startTimeMs": at, "endTimeMs": at + 900 + chars * 20}


def vogent_calls(
    count: int = 1000, records_per_call: int = 40, call_bytes: int = 5000, seed: int = 11
) -> list[dict[str, Any]]:
    """Raw Vogent calls; each fans out to exactly `records_per_call` records, one of them a
    tool call."""
    rng = random.Random(seed)
    spoken = records_per_call - 1
    # Fixed JSON per entry is about 70 bytes; the rest of each call's budget is spoken text.
    chars = max((call_bytes - 400) // (spoken + 2) - 70, 8)
    calls = []
    for c in range(count):
        transcript: list[dict[str, Any]] = []
        at = 0
        for u in range(spoken):
            speaker = "AI" if u % 2 == 0 else "HUMAN"
            entry = _utterance(rng, speaker, at, chars)
            at = entry["endTimeMs"] + 150
            transcript.append(entry)
            if u == spoken // 2:  # the AI calls a tool mid-call; its response emits nothing
                call_id = f"fc-{c}-{u}"
                transcript.append(
                    {
                        "speaker": "AI",
                        "text": "<|silence|>",
                        "startTimeMs": at,
                        "functionCalls": [
                            {
                                "name": _TOOLS[c % 4],
                                "arguments": {"order": c},
                                "functionCallId": call_id,
                            }
                        ],
                    }
                )
                transcript.append(
                    {
                        "speaker": "AI",
                        "text": '{"status": "shipped"}',
                        "detailType": "function",
                        "functionCallId": call_id,
                    }
                )
        calls.append(
            {
                "id": f"call-{c:05d}",
                "conversationId": f"vconv-{c:05d}",
                "userId": f"user-{c % 37:03d}",
                "organizationId": "org-bench",
                "callType": "phone",
                "transcript": transcript,
            }
        )
    return calls


def body(events: list[dict[str, Any]], environment: str = "production") -> bytes:
    return json.dumps({"environment": environment, "events": events}).encode()


def api_event(path: str, raw_body: bytes, tenant: str = "acme") -> dict[str, Any]:
    """A REST proxy event as API Gateway sends it once the authorizer allowed the call."""
    headers = {"Content-Type": "application/json", "Host": "api.example.com"}
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7"},
            "authorizer": {"tenantId": tenant, "principalId": tenant},
        },
        # BinaryMediaTypes */*: API Gateway hands every body over base64-encoded.
        "body": base64.b64encode(raw_body).decode(),
        "isBase64Encoded": True,
    }


@dataclass
class LambdaContext:
    remaining_ms: int = 29_000
    function_name: str = "bench"
    aws_request_id: str = "bench-request"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def status_of(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and decoded JSON body of a Mangum response."""
    text = response.get("body") or ""
    if response.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    return int(response["statusCode"]), json.loads(text) if text else {}
