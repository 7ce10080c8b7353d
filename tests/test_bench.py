"""`sre-tui bench`: the cheapest part of the quick run, end to end (real ptys), writes the
JSON with every figure as a number. Figures are not asserted against targets here."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sre_tui.cli import main

pytestmark = pytest.mark.pty

pytest.importorskip("pexpect")


def test_quick_startup_bench_writes_numeric_figures(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--only", "startup", "--json", str(out)]) == 0

    doc = json.loads(out.read_text())
    assert doc["quick"] is True
    assert doc["parts"]["startup"]["error"] is None
    metrics = doc["metrics"]
    assert set(metrics) == {"startup.sre_tui_s", "startup.hello_s", "startup.ratio"}
    for metric in metrics.values():
        assert {"value", "unit", "target", "pass", "label"} <= set(metric)
        assert isinstance(metric["value"], float) and math.isfinite(metric["value"])
        assert metric["value"] > 0
    assert metrics["startup.ratio"]["target"] == 1.5
    assert isinstance(metrics["startup.ratio"]["pass"], bool)
    runs = doc["parts"]["startup"]["details"]["runs"]
    assert len(doc["parts"]["startup"]["details"]["sre_tui_seconds"]) == runs

    printed = capsys.readouterr().out
    assert "startup: ratio sre-tui / bare Textual" in printed
    assert str(out) in printed


def test_short_load_bench_keeps_the_app_alive(tmp_path: Path, monkeypatch) -> None:
    # A few seconds of firehose and churn (the real window is minutes): figures are
    # numbers, samples and keys were recorded, and the app still answered at the end.
    monkeypatch.setenv("SRE_TUI_BENCH_LOAD_SECONDS", "4")
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--only", "load", "--json", str(out)]) == 0

    doc = json.loads(out.read_text())
    part = doc["parts"]["load"]
    assert part["error"] is None
    metrics = doc["metrics"]
    for key in ("rss_start_mb", "rss_peak_mb", "rss_end_mb", "key_latency_p50_ms", "log_lines"):
        value = metrics[f"load.{key}"]["value"]
        assert isinstance(value, float) and math.isfinite(value) and value > 0
    assert metrics["load.alive_at_end"]["value"] == 1.0
    assert len(part["details"]["samples"]) >= 2
    assert part["details"]["key_latency_ms"]
