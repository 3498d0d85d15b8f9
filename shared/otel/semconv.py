"""The attributes the mapping reads (docs/otlp.md, Mapping), first match wins."""

from __future__ import annotations

# Where a span names its conversation; else its trace's, else the trace id.
CONVERSATION_KEYS = ("moda.conversation_id", "gen_ai.conversation.id", "session.id")
USER_KEYS = ("moda.user_id", "user.id", "enduser.id")
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.vendor")
INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
REASONING_TOKEN_KEYS = ("gen_ai.usage.reasoning_tokens", "llm.usage.reasoning_tokens")
OPERATION_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
STRUCTURED_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions")
TOOL_ARGUMENT_KEYS = ("gen_ai.tool.call.arguments", "tool.parameters")
TOOL_RESULT_KEYS = ("gen_ai.tool.call.result", "tool.result")

ENVIRONMENT_ALIASES = {
    "production": "production",
    "prod": "production",
    "prd": "production",
    "staging": "staging",
    "stage": "staging",
    "stg": "staging",
    "development": "development",
    "dev": "development",
    "local": "development",
}
