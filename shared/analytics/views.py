"""An analytics row as the API shows it: group keys as given, numbers JSON-ready (averages and
costs rounded so a chart shows no float noise)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

_DECIMALS = 6


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return round(value, _DECIMALS)
    return value


def row_view(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _number(value) for name, value in row.items()}
