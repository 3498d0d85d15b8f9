"""The Bedrock analyzer under `make eval-insights --analyzer bedrock`, on a stubbed transport.

No model is called: a real botocore `bedrock-runtime` client sits behind botocore's Stubber,
which checks each Converse request the analyzer builds against the service's API model (the
bounded transcript, the forced tool, the insights JSON schema) and answers with a canned tool
call: the conversation's own labels, as a perfect model would answer. The run therefore shows
that the Bedrock path (request, tool-call parsing, schema validation, mapping to `Analysis`)
and the scorer lose nothing — the figures are the ceiling, and any point below 100 % is a loss
in that path (e.g. a topic list cut to the schema's 5). It does NOT measure the quality of a
Bedrock model: for that, run the analyzer against Bedrock itself on an AWS account.
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.stub import ANY, Stubber

from shared.insights.bedrock import TOOL_NAME, BedrockAnalyzer

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MAX_INPUT_CHARS = 24_000
_SCORES = {"positive": 0.7, "neutral": 0.0, "negative": -0.7, "mixed": 0.0}


def canned_answer(labels: dict[str, Any]) -> dict[str, Any]:
    """The tool input a model that agreed with the labelers would send."""
    return {
        "sentiment": labels["sentiment"],
        "sentimentScore": _SCORES[labels["sentiment"]],
        "taskCompleted": labels["taskCompleted"],
        "topics": list(labels.get("topics", []))[:5],
        "summary": "Canned answer of the evaluation's stubbed transport.",
        "issues": list(labels.get("issues", []))[:10],
    }


def bedrock_eval_analyzer(case: dict[str, Any]) -> BedrockAnalyzer:
    """A Bedrock analyzer whose client expects one Converse call and answers it for `case`."""
    labels = case.get("labels") or case
    client = botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",
    )
    stubber = Stubber(client)
    stubber.add_response(
        "converse",
        {
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [
                        {
                            "toolUse": {
                                "toolUseId": "tu_eval",
                                "name": TOOL_NAME,
                                "input": canned_answer(labels),
                            }
                        }
                    ],
                }
            },
            "stopReason": "tool_use",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        },
        {
            "modelId": MODEL,
            "system": ANY,
            "messages": ANY,
            "toolConfig": ANY,
            "inferenceConfig": ANY,
        },
    )
    stubber.activate()
    return BedrockAnalyzer(client, MODEL, MAX_INPUT_CHARS)
