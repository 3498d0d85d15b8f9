"""Parley's shared package: everything the Lambda functions have in common (shipped as a layer)."""
