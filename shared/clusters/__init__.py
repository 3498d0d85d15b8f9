"""Conversation clusters: embeddings, clustering, assignment and `GET /api/v1/clusters`
(docs/clusters.md)."""
