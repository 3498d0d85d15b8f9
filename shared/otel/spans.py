"""Walking an ExportTraceServiceRequest: every span, read once into a SpanView."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shared.otel.attributes import ValueRefused, attributes, span_attributes
from shared.otel.models import Resource, SpanRejected, SpanView, describe
from shared.otel.semconv import OPERATION_DETAILS_EVENT


def spans(request: Any) -> Iterator[SpanView | SpanRejected]:
    """Every span of an ExportTraceServiceRequest, with its resource, in request order; a span
    whose attributes (or its resource's) cannot be read comes as its refusal instead."""
    index = 0
    for resource_spans in request.resource_spans:
        refused: str | None = None
        try:
            resource_attributes = attributes(resource_spans.resource.attributes)
        except ValueRefused as exc:
            refused, resource_attributes = f"resource {exc}", {}
        service = resource_attributes.get("service.name")
        resource = Resource(resource_attributes, service if isinstance(service, str) else None)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield _view(span, resource, index, refused)
                index += 1


def _view(
    span: Any, resource: Resource, index: int, refused: str | None
) -> SpanView | SpanRejected:
    try:
        if refused is None:
            plain, flat = span_attributes(span.attributes)
            events = [(event.name, attributes(event.attributes)) for event in span.events]
    except ValueRefused as exc:
        refused = str(exc)
    if refused is not None:
        return SpanRejected(f"{describe(span.span_id.hex(), span.name)}: {refused}")
    return SpanView(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(),
        name=span.name,
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano,
        attributes=plain,
        flat=flat,
        events=events,
        resource=resource,
        index=index,
    )


def span_count(request: Any) -> int:
    return sum(
        len(scope_spans.spans)
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
    )


def carries_genai(span: SpanView) -> bool:
    """Whether a span may hold GenAI data: only then is its trace's conversation looked up."""
    return (
        span.name.startswith("vapi.")
        or bool(span.flat)
        or any(key.startswith("gen_ai.") or key.startswith("llm.") for key in span.attributes)
        or any(name == OPERATION_DETAILS_EVENT for name, _ in span.events)
    )
