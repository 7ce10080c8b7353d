"""Reading a query's value against its thresholds (no I/O)."""

from __future__ import annotations

import math
from enum import StrEnum

from sre_tui.core.runbook import Direction, Query, Verify


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    CRIT = "crit"
    UNKNOWN = "unknown"


def level(value: float | None, query: Query) -> Level:
    if value is None or math.isnan(value):
        return Level.UNKNOWN
    above = query.direction is Direction.ABOVE

    def beyond(threshold: float | None) -> bool:
        if threshold is None:
            return False
        return value >= threshold if above else value <= threshold

    if beyond(query.crit):
        return Level.CRIT
    if beyond(query.warn):
        return Level.WARN
    return Level.OK


def format_value(value: float | None, unit: str = "") -> str:
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞"
    magnitude = abs(value)
    if magnitude >= 1000:
        text = f"{value:,.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    elif magnitude >= 0.01 or value == 0:
        text = f"{value:.2f}".rstrip("0").rstrip(".") if value else "0"
    else:
        text = f"{value:.2g}"
    return f"{text} {unit}".rstrip() if unit and not unit.startswith("/") else f"{text}{unit}"


def reading(value: float | None, query: Query) -> str:
    """`p95 latency 1.8 s (crit ≥ 1)` — a sentence for the timeline and the export."""
    lvl = level(value, query)
    text = f"{query.title} {format_value(value, query.unit)}"
    threshold = {Level.CRIT: query.crit, Level.WARN: query.warn}.get(lvl)
    sign = "≥" if query.direction is Direction.ABOVE else "≤"
    if threshold is not None:
        return f"{text} ({lvl.value} {sign} {threshold:g})"
    if lvl is Level.OK and query.warn is not None:
        return f"{text} (ok, warn {sign} {query.warn:g})"
    return text


def verify_holds(value: float | None, verify: Verify) -> bool | None:
    """Whether a step's verify condition holds; None when there is no value."""
    if value is None or math.isnan(value):
        return None
    if verify.below is not None:
        return value < verify.below
    return value > verify.above  # type: ignore[operator]
