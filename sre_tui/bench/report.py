"""Figures, their targets, the printed table and the JSON file."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Metric:
    id: str  # stable key in the JSON, e.g. "logs.key_latency_p99_ms"
    label: str
    value: float | None  # None: could not be measured (see `note`)
    unit: str
    target: float | None = None
    higher_is_better: bool = False
    note: str = ""
    count: bool = False  # a whole number of things: printed without decimals

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        if self.value is None or math.isnan(self.value):
            return False
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def target_text(self) -> str:
        if self.target is None:
            return ""
        sign = "≥" if self.higher_is_better else "≤"
        return f"{sign} {self._number(self.target)} {self.unit}".rstrip()

    def value_text(self) -> str:
        if self.value is None:
            return "n/a"
        return f"{self._number(self.value)} {self.unit}".rstrip()

    def _number(self, value: float) -> str:
        return f"{value:,.0f}" if self.count else _num(value)


@dataclass
class Part:
    """One benchmark's figures and the raw data behind them."""

    name: str
    metrics: list[Metric] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


def _num(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 20 samples is the largest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def table(parts: list[Part]) -> str:
    rows = [("metric", "value", "target", "")]
    for part in parts:
        if part.error:
            rows.append((f"{part.name}: FAILED", part.error[:60], "", "miss"))
        for m in part.metrics:
            verdict = {True: "pass", False: "MISS", None: ""}[m.passed]
            rows.append((m.label, m.value_text(), m.target_text(), verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]), row[3]]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  {m.label}: {m.note}" for p in parts for m in p.metrics if m.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def document(parts: list[Part], quick: bool) -> dict[str, Any]:
    from textual import __version__ as textual_version

    metrics = {}
    for part in parts:
        for m in part.metrics:
            entry = asdict(m)
            entry["pass"] = m.passed
            metrics[m.id] = entry
    return {
        "schema": 1,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "host": {
            "python": sys.version.split()[0],
            "textual": textual_version,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "metrics": metrics,
        "parts": {
            p.name: {"seconds": round(p.seconds, 2), "error": p.error, "details": p.details}
            for p in parts
        },
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
