"""The bedrock analyzer against botocore's Stubber: the Converse request it sends (forced tool,
JSON schema, bounded input) and how it reads answers and errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from shared.insights.analysis import AnalysisFailed, AnalysisUnavailable
from shared.insights.bedrock import TOOL_NAME, BedrockAnalyzer, ToolAnswer, transcript
from shared.settings import Settings

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [
    {"role": "user", "content": "Can you move my delivery to Friday?"},
    {"role": "tool", "content": "", "toolCalls": [{"name": "reschedule"}]},
    {"role": "assistant", "content": "Done: it arrives Friday morning."},
    {"role": "user", "content": "Thanks!"},
]
ANSWER = {
    "sentiment": "positive",
    "sentimentScore": 0.8,
    "taskCompleted": True,
    "topics": ["delivery", "rescheduling"],
    "summary": "The user moved a delivery to Friday; the assistant did it.",
    "issues": [],
}


def converse_response(content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 120, "outputTokens": 60, "totalTokens": 180},
        "metrics": {"latencyMs": 900},
    }


def tool_use(answer: Any) -> dict[str, Any]:
    return {"toolUse": {"toolUseId": "tu_1", "name": TOOL_NAME, "input": answer}}


@pytest.fixture
def client() -> Iterator[tuple[Any, Stubber]]:
    client = botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_sends_a_forced_tool_call_with_the_schema_and_reads_the_answer(
    client: tuple[Any, Stubber],
) -> None:
    bedrock, stubber = client
    analyzer = BedrockAnalyzer(bedrock, MODEL, 60_000)
    expected = {
        "modelId": MODEL,
        "system": ANY,
        "messages": ANY,
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": TOOL_NAME,
                        "description": ANY,
                        "inputSchema": {"json": ToolAnswer.model_json_schema()},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": TOOL_NAME}},
        },
        "inferenceConfig": {"maxTokens": 1024, "temperature": 0.0},
    }
    stubber.add_response("converse", converse_response([tool_use(ANSWER)]), expected)

    result = analyzer.analyze(MESSAGES)

    assert result.sentiment == "positive"
    assert result.sentiment_score == 0.8
    assert result.task_completed is True
    assert result.topics == ["delivery", "rescheduling"]
    assert result.summary == ANSWER["summary"]
    request, truncated = analyzer.request(MESSAGES)
    text = request["messages"][0]["content"][0]["text"]
    assert not truncated
    assert "user: Can you move my delivery to Friday?" in text
    assert 'tool: [{"name": "reschedule"}]' in text


def test_long_transcripts_are_cut_in_the_middle_and_say_so(client: tuple[Any, Stubber]) -> None:
    bedrock, stubber = client
    long = [{"role": "user", "content": "First question here."}]
    long += [{"role": "assistant", "content": "x" * 500} for _ in range(20)]
    long += [{"role": "user", "content": "The final words."}]
    analyzer = BedrockAnalyzer(bedrock, MODEL, 2_000)
    request, truncated = analyzer.request(long)
    text = request["messages"][0]["content"][0]["text"]
    assert truncated
    assert "middle was cut" in text
    assert "First question here." in text
    assert "The final words." in text
    body, _ = transcript(long, 2_000)
    assert len(body) <= 2_000
    stubber.add_response("converse", converse_response([tool_use(ANSWER)]))

    assert "middle of a long transcript cut" in analyzer.analyze(long).summary


@pytest.mark.parametrize(
    "content",
    [
        [{"text": "I think the user was happy."}],
        [tool_use({**ANSWER, "sentiment": "ecstatic"})],
        [tool_use({**ANSWER, "sentimentScore": 3})],
    ],
    ids=["no tool call", "bad label", "score out of range"],
)
def test_an_answer_off_the_schema_is_a_failed_analysis(
    client: tuple[Any, Stubber], content: list[dict[str, Any]]
) -> None:
    bedrock, stubber = client
    stubber.add_response("converse", converse_response(content))
    with pytest.raises(AnalysisFailed):
        BedrockAnalyzer(bedrock, MODEL, 60_000).analyze(MESSAGES)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ThrottlingException", AnalysisUnavailable),
        ("ModelTimeoutException", AnalysisUnavailable),
        ("AccessDeniedException", AnalysisUnavailable),  # a model not enabled yet: wait
        ("ValidationException", AnalysisFailed),
    ],
)
def test_errors_are_retryable_or_permanent(
    client: tuple[Any, Stubber], code: str, expected: type[Exception]
) -> None:
    bedrock, stubber = client
    stubber.add_client_error("converse", service_error_code=code, http_status_code=400)
    with pytest.raises(expected):
        BedrockAnalyzer(bedrock, MODEL, 60_000).analyze(MESSAGES)


def test_built_from_settings_with_timeouts_and_retries() -> None:
    settings = Settings(bedrock_model_id="m-1", bedrock_timeout_seconds=12)
    analyzer = BedrockAnalyzer.from_settings(settings)
    config = analyzer._client.meta.config
    assert config.read_timeout == 12
    assert config.retries["mode"] == "standard"
    assert config.retries["total_max_attempts"] == 4  # botocore: max_attempts retries + 1
    assert analyzer._model_id == "m-1"


def test_the_setting_chooses_the_analyzer(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import services
    from shared.insights.local import LocalAnalyzer

    monkeypatch.setenv("PARLEY_INSIGHTS_ANALYZER", "bedrock")
    services.reset()
    try:
        assert isinstance(services.insights_analyzer(), BedrockAnalyzer)
        monkeypatch.setenv("PARLEY_INSIGHTS_ANALYZER", "local")
        services.reset()
        assert isinstance(services.insights_analyzer(), LocalAnalyzer)
    finally:
        monkeypatch.delenv("PARLEY_INSIGHTS_ANALYZER")
        services.reset()
