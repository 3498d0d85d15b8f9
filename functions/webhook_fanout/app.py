"""Conversations table stream (META items) → one delivery message per subscribed endpoint."""

from shared.webhooks.lambdas import fan_out as handler

__all__ = ["handler"]
