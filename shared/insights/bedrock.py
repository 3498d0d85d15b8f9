"""The `bedrock` analyzer: Amazon Bedrock's Converse API with one tool whose JSON schema is the
insights shape; `toolChoice` forces the model to answer by calling it, so the answer is
structured (and is validated again here).

The transcript is bounded (`bedrock_max_input_chars`): a longer one keeps its beginning and its
end, the model is told the middle was cut, and the summary says so. Timeouts and retries are
botocore's (standard mode); throttling, timeouts and an unavailable model leave the record to be
retried, an answer that is not the tool call or does not fit the schema is a failed analysis.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.insights.analysis import Analysis, AnalysisFailed, AnalysisUnavailable, Messages

if TYPE_CHECKING:
    from shared.settings import Settings

NAME = "bedrock"
TOOL_NAME = "record_conversation_insights"
_MAX_OUTPUT_TOKENS = 1024
# Bedrock errors worth retrying later; AccessDenied/ResourceNotFound too: a model not (yet)
# enabled is a deployment fault, and its records should wait, not be marked failed.
_RETRY_LATER = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelTimeoutException",
        "ModelNotReadyException",
        "ServiceQuotaExceededException",
        "AccessDeniedException",
        "ResourceNotFoundException",
    }
)
_SYSTEM = (
    "You analyze a conversation between a user and an AI assistant for its operator. Call the "
    f"{TOOL_NAME} tool exactly once. sentiment is the user's overall sentiment, weighted toward "
    "the end of the conversation ('mixed' when it swings clearly between negative and "
    "positive); sentimentScore is -1 (very negative) to 1 (very positive); taskCompleted is "
    "whether the user's request was fulfilled by the end; topics are 1-5 short keyphrases; "
    "summary is 1-3 sentences (what the user asked, what the assistant did, how it ended); "
    "issues are short problem statements (unanswered questions, repeated requests, escalation, "
    "frustration, failed tool calls), empty when there are none."
)


class ToolAnswer(BaseModel):
    """The tool's input schema (sent to the model) and the check of its answer."""

    model_config = ConfigDict(extra="ignore")

    sentiment: Literal["positive", "neutral", "negative", "mixed"]
    sentimentScore: float = Field(ge=-1, le=1)
    taskCompleted: bool
    topics: list[str] = Field(max_length=5)
    summary: str = Field(min_length=1, max_length=2000)
    issues: list[str] = Field(max_length=10)


def transcript(messages: Messages, max_chars: int) -> tuple[str, bool]:
    """The conversation as `role: text` lines, at most `max_chars`: (text, truncated)."""
    lines = []
    for message in messages:
        text = str(message.get("content") or "").strip()
        if message.get("role") == "tool" and not text:
            text = json.dumps(message.get("toolCalls") or [])
        lines.append(f"{message.get('role', 'unknown')}: {text}")
    full = "\n".join(lines)
    if len(full) <= max_chars:
        return full, False
    marker = f"\n[… {len(full) - max_chars} characters omitted …]\n"
    keep = max_chars - len(marker)
    head = keep // 3  # the question is at the start, how it ended matters most
    return full[:head] + marker + full[len(full) - (keep - head) :], True


class BedrockAnalyzer:
    name = NAME

    def __init__(self, client: Any, model_id: str, max_input_chars: int) -> None:
        self._client = client
        self._model_id = model_id
        self._max_chars = max_input_chars

    @classmethod
    def from_settings(cls, settings: Settings) -> BedrockAnalyzer:
        from shared.bedrock import runtime_client

        return cls(
            runtime_client(settings), settings.bedrock_model_id, settings.bedrock_max_input_chars
        )

    def request(self, messages: Messages) -> tuple[dict[str, Any], bool]:
        """The Converse request for a conversation, and whether its transcript was cut."""
        text, truncated = transcript(messages, self._max_chars)
        note = (
            "The transcript is too long: its middle was cut (marked with […]); judge from what "
            "remains.\n\n"
            if truncated
            else ""
        )
        return {
            "modelId": self._model_id,
            "system": [{"text": _SYSTEM}],
            "messages": [
                {
                    "role": "user",
                    "content": [{"text": f"{note}<transcript>\n{text}\n</transcript>"}],
                }
            ],
            "toolConfig": {
                "tools": [
                    {
                        "toolSpec": {
                            "name": TOOL_NAME,
                            "description": "Record the insights of the conversation.",
                            "inputSchema": {"json": ToolAnswer.model_json_schema()},
                        }
                    }
                ],
                "toolChoice": {"tool": {"name": TOOL_NAME}},
            },
            "inferenceConfig": {"maxTokens": _MAX_OUTPUT_TOKENS, "temperature": 0.0},
        }, truncated

    def analyze(self, messages: Messages) -> Analysis:
        if not messages:
            raise AnalysisFailed("The conversation has no messages to analyze")
        request, truncated = self.request(messages)
        try:
            response = self._client.converse(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _RETRY_LATER:
                raise AnalysisUnavailable(f"Bedrock: {code}") from exc
            raise AnalysisFailed(f"Bedrock refused the request: {code}") from exc
        except BotoCoreError as exc:  # timeouts, connection faults (after botocore's retries)
            raise AnalysisUnavailable(f"Bedrock: {type(exc).__name__}") from exc
        answer = self._tool_answer(response)
        summary = answer.summary
        if truncated:
            summary += " (Analyzed with the middle of a long transcript cut.)"
        return Analysis(
            sentiment=answer.sentiment,
            sentiment_score=answer.sentimentScore,
            task_completed=answer.taskCompleted,
            topics=answer.topics,
            summary=summary,
            issues=answer.issues,
        )

    @staticmethod
    def _tool_answer(response: dict[str, Any]) -> ToolAnswer:
        for block in response.get("output", {}).get("message", {}).get("content", []):
            tool_use = block.get("toolUse")
            if tool_use and tool_use.get("name") == TOOL_NAME:
                try:
                    return ToolAnswer.model_validate(tool_use.get("input"))
                except ValidationError as exc:
                    raise AnalysisFailed("Bedrock's answer does not fit the schema") from exc
        raise AnalysisFailed("Bedrock answered without calling the insights tool")
