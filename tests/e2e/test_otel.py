"""Real OpenTelemetry producers exporting to a real `python -m devtools.server`: the unmodified
Moda SDK (its own process), and the OpenTelemetry SDK's OTLP/HTTP protobuf and JSON exporters
configured only through the standard environment variables."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.exporter.otlp.json.http.trace_exporter import (
    OTLPSpanExporter as JsonSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as ProtobufSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import set_span_in_context

from tests.e2e.conftest import ROOT, ServerProcess
from tests.e2e.test_local_api import records

pytestmark = pytest.mark.e2e


def turns(conversation: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["role"], r["message"]) for r in conversation]


@pytest.fixture(scope="module")
def moda_run(server: ServerProcess) -> dict[str, Any]:
    run = uuid.uuid4().hex[:10]
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.moda_app", server.base_url, server.keys["acme"], run],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_moda_explicit_conversation_two_calls_store_each_turn_once(
    server: ServerProcess, moda_run: dict[str, Any]
) -> None:
    assert moda_run["failures"] == []
    conversation = records(server, moda_run["explicit"])
    assert turns(conversation) == [
        ("system", "Be brief"),
        ("user", "Where is my order?"),
        ("assistant", "Re: Where is my order?"),
        ("user", "Thanks"),
        ("assistant", "Re: Thanks"),
    ]
    reply = conversation[2]
    assert reply["user_id"] == "user-e2e"
    assert reply["model"] == "gpt-4o-2024-08-06"
    assert reply["provider"] == "openai"
    assert (reply["input_tokens"], reply["output_tokens"]) == (12, 4)
    assert reply["metadata"]["service.name"] == "moda-e2e"


def test_moda_context_manager_conversation(server: ServerProcess, moda_run: dict[str, Any]) -> None:
    assert turns(records(server, moda_run["scoped"])) == [
        ("user", "Hello from a context manager"),
        ("assistant", "Re: Hello from a context manager"),
    ]


def test_moda_automatic_conversation(server: ServerProcess, moda_run: dict[str, Any]) -> None:
    assert moda_run["automatic"].startswith("conv_")
    assert turns(records(server, moda_run["automatic"])) == [
        ("system", f"Auto {moda_run['run']}"),
        ("user", "Hi"),
        ("assistant", "Re: Hi"),
        ("user", "Still there?"),
        ("assistant", "Re: Still there?"),
    ]


def test_moda_vapi_end_of_call_report(server: ServerProcess, moda_run: dict[str, Any]) -> None:
    stored = records(server, moda_run["vapi"])
    assert [(r["message_source"], r.get("role"), r.get("message")) for r in stored] == [
        ("call", None, "Booked a table for two"),
        ("chat", "assistant", "Bella's, how can I help?"),
        ("chat", "user", "A table for two tonight"),
        ("chat", "assistant", ""),  # the turn that called the tool
        ("chat", "user", "Great"),
        ("chat", "assistant", "Booked for two at 8pm."),
        ("tool_call", None, None),
    ]
    call, tool = stored[0], stored[-1]
    assert call["user_id"] == "+15550100"
    assert call["duration"] == 42
    assert call["metadata"]["vapi.call.ended_reason"] == "customer-ended-call"
    assert tool["tool_name"] == "book_table"
    assert tool["tool_call_request"] == {"people": 2}
    assert tool["tool_call_response"] == {"confirmed": True}


def test_moda_metrics_export_succeeds(server: ServerProcess, moda_run: dict[str, Any]) -> None:
    assert moda_run["metrics_flushed"] is True
    assert moda_run["failures"] == []
    assert "POST /v1/metrics → 200" in server.output


@pytest.mark.parametrize(
    ("exporter_class", "compression"),
    [(ProtobufSpanExporter, "none"), (ProtobufSpanExporter, "gzip"), (JsonSpanExporter, "none")],
)
def test_opentelemetry_sdk_exporters_with_current_semconv(
    server: ServerProcess,
    monkeypatch: pytest.MonkeyPatch,
    exporter_class: Callable[[], SpanExporter],
    compression: str,
) -> None:
    # Only the standard settings: the endpoint, the Authorization header, the compression.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{server.base_url}/v1/traces")
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS", f"Authorization=Bearer {server.keys['acme']}"
    )
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", compression)
    exporter = exporter_class()
    provider = TracerProvider(resource=Resource.create({"service.name": "semconv-app"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("e2e")
    conversation = f"semconv-{uuid.uuid4().hex[:10]}"
    question = {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
    call = {"type": "tool_call", "id": "call_1", "name": "weather", "arguments": {"city": "Paris"}}
    with tracer.start_as_current_span("invoke_agent weather-bot") as agent:
        agent.set_attribute("gen_ai.conversation.id", conversation)
        context = set_span_in_context(agent)
        with tracer.start_span("chat gpt-4o", context=context) as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.usage.input_tokens": 20,
                    "gen_ai.usage.output_tokens": 7,
                    "gen_ai.system_instructions": json.dumps(
                        [{"type": "text", "content": "You are a weather bot"}]
                    ),
                    "gen_ai.input.messages": json.dumps([question]),
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": [call], "finish_reason": "tool_call"}]
                    ),
                }
            )
        with tracer.start_span("execute_tool weather", context=context) as tool:
            tool.set_attributes(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "weather",
                    "gen_ai.tool.call.id": "call_1",
                    "gen_ai.tool.call.arguments": '{"city": "Paris"}',
                    "gen_ai.tool.call.result": '{"sky": "sunny"}',
                }
            )
    provider.shutdown()  # the batch processor exports the whole trace in one request
    stored = records(server, conversation)
    assert [(r["message_source"], r.get("role"), r.get("message")) for r in stored] == [
        ("chat", "system", "You are a weather bot"),
        ("chat", "user", "Weather in Paris?"),
        ("chat", "assistant", ""),
        ("tool_call", None, None),
    ]
    assert stored[2]["content_blocks"] == [
        {
            "type": "tool_use",
            "tool_name": "weather",
            "tool_use_id": "call_1",
            "input": {"city": "Paris"},
        }
    ]
    assert stored[2]["output_tokens"] == 7
    assert stored[3]["tool_name"] == "weather"
    assert stored[3]["tool_call_response"] == {"sky": "sunny"}
    assert {r["metadata"]["service.name"] for r in stored} == {"semconv-app"}
