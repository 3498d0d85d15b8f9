"""Conversation insights: analyzers behind one interface, the stream worker that runs them once
per completed conversation, and the views (the conversations API's and the Converra SDK's)."""
