"""Conversation insights: analyzers behind one interface, the stream worker that runs them once
per completed conversation, and the views (seed 004's and the Converra SDK's)."""
