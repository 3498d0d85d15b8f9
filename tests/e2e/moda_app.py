"""An app instrumented with the unmodified Moda SDK (moda-ai), run as its own process by
test_otel.py: `python -m tests.e2e.moda_app <parley url> <api key> <run id>`.

OpenAI answers through a stubbed HTTP transport (no network); the SDK exports to Parley with
only its documented settings. Prints one JSON line: the conversation ids each scenario used, and
whether every export succeeded.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import httpx


class ExportFailures(logging.Handler):
    """The OTLP exporters log an error for every export that failed for good."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def openai_stub(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    last = body["messages"][-1]["content"]
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-4o-2024-08-06",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"Re: {last}"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
        },
    )


def vapi_report(call_id: str) -> dict[str, Any]:
    booking = {"id": "tc1", "function": {"name": "book_table", "arguments": '{"people": 2}'}}
    return {
        "id": call_id,
        "customer": {"number": "+15550100"},
        "duration": 42,
        "endedReason": "customer-ended-call",
        "analysis": {"summary": "Booked a table for two"},
        "artifact": {
            "messages": [
                {"role": "assistant", "content": "Bella's, how can I help?"},
                {"role": "user", "content": "A table for two tonight"},
                {"role": "assistant", "tool_calls": [booking]},
                {"role": "tool", "tool_call_id": "tc1", "content": '{"confirmed": true}'},
                {"role": "user", "content": "Great"},
                {"role": "assistant", "content": "Booked for two at 8pm."},
            ]
        },
    }


def main(url: str, key: str, run: str) -> dict[str, Any]:
    failures = ExportFailures()
    logging.getLogger("opentelemetry").addHandler(failures)

    import moda
    from openai import OpenAI
    from opentelemetry import metrics

    # `instruments`: moda-ai 0.1.4.2 crashes at init when boto3 is installed but its Bedrock
    # instrumentation is not, so the app names the one instrumentation it uses.
    moda.init(key, endpoint=url, app_name="moda-e2e", instruments={moda.Instruments.OPENAI})
    client = OpenAI(
        api_key="sk-test", http_client=httpx.Client(transport=httpx.MockTransport(openai_stub))
    )

    def ask(history: list[dict[str, str]], text: str) -> None:
        history.append({"role": "user", "content": text})
        reply = client.chat.completions.create(model="gpt-4o", messages=history)
        history.append({"role": "assistant", "content": reply.choices[0].message.content or ""})

    # 1. Explicit id (property style), two calls in one conversation, with a user id.
    explicit = f"explicit-{run}"
    moda.conversation_id = explicit
    moda.user_id = "user-e2e"
    history = [{"role": "system", "content": "Be brief"}]
    ask(history, "Where is my order?")
    ask(history, "Thanks")
    moda.conversation_id = None
    moda.user_id = None

    # 2. The set_conversation_id context manager.
    scoped = f"scoped-{run}"
    with moda.set_conversation_id(scoped):
        ask([], "Hello from a context manager")

    # 3. The automatic id: derived from the first user message and the system prompt.
    auto_history = [{"role": "system", "content": f"Auto {run}"}]
    ask(auto_history, "Hi")
    automatic = moda.compute_conversation_id(auto_history[:2])
    ask(auto_history, "Still there?")

    # 4. A Vapi end-of-call report: a `vapi.call` span, `vapi.turn.N` and `vapi.tool.*` children.
    vapi_call = f"vapi-{run}"
    moda.process_vapi_end_of_call_report(
        {"message": {"type": "end-of-call-report", "call": vapi_report(vapi_call)}}
    )

    moda.flush()
    metrics_flushed = metrics.get_meter_provider().force_flush()
    return {
        "run": run,
        "explicit": explicit,
        "scoped": scoped,
        "automatic": automatic,
        "vapi": vapi_call,
        "metrics_flushed": bool(metrics_flushed),
        "failures": failures.messages,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])), flush=True)
