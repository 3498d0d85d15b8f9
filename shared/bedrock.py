"""The Bedrock runtime client both Bedrock users share (the insights analyzer, the clusters'
Titan embedder): the settings' read timeout, and botocore's standard retries with backoff, after
which a throttled or unavailable model is the caller's retryable fault."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.settings import Settings

MAX_ATTEMPTS = 3  # botocore standard mode: retries after the first attempt (4 calls at most)


def runtime_client(settings: Settings) -> Any:
    import botocore.session
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=settings.bedrock_timeout_seconds,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
    )
    return botocore.session.get_session().create_client(
        "bedrock-runtime", region_name=settings.aws_region, config=config
    )
