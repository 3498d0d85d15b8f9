"""Delivery queue → signed POST to the endpoint; failures retried with backoff, then the DLQ."""

from shared.webhooks.lambdas import deliver as handler

__all__ = ["handler"]
