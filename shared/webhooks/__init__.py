"""Webhooks: the API that registers endpoints, the stream fan-out, signed delivery."""
