"""The log pane: sustained input rate, key latency under a stream, RSS with 100k lines.

Each figure comes from its own run of `logs_harness` (the pane alone in a real pty of
120×40, fed by a producer thread; see there for how lines are fed and counted).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sre_tui.bench.report import Metric, Part, median, percentile
from sre_tui.bench.term import BenchError, Terminal, python

SIZE = (120, 40)
LATENCY_RATE = 10_000


def _harness(mode: str, *args: str, timeout: float = 180.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sre-tui-bench-") as tmp:
        out = Path(tmp) / "result.json"
        argv = python("-m", "sre_tui.bench.logs_harness", mode, "--out", str(out), *args)
        term = Terminal(argv, size=SIZE)
        try:
            if not term.eof.wait(timeout):
                raise BenchError(f"log harness ({mode}) did not finish in {timeout:.0f} s")
        finally:
            term.quit()
        return _result(out, mode)


def _result(out: Path, mode: str) -> dict[str, Any]:
    if not out.exists():
        raise BenchError(f"log harness ({mode}) wrote no result")
    result = json.loads(out.read_text())
    if "error" in result:
        raise BenchError(f"log harness ({mode}): {result['error']}")
    return result


def max_rate(quick: bool) -> tuple[Metric, dict[str, Any]]:
    rates = [10_000, 25_000, 50_000, 100_000, 200_000, 400_000]
    if not quick:
        rates = [
            10_000,
            20_000,
            35_000,
            50_000,
            75_000,
            100_000,
            150_000,
            200_000,
            300_000,
            400_000,
        ]
    stage = 1.5 if quick else 4.0
    result = _harness("rate", "--rates", ",".join(map(str, rates)), "--stage", str(stage))
    stages = result["stages"]
    kept = [s["rate"] for s in stages if s["kept_up"] and s["producer_ok"]]
    note = ""
    last = stages[-1] if stages else None
    if last is not None and not last["producer_ok"]:
        note = f"the producer could not deliver {last['rate']:,.0f}/s; the figure is a floor"
    elif last is not None and last["kept_up"]:
        note = "kept up with the highest rate tried; the figure is a floor"
    elif last is not None:
        note = (
            f"at {last['rate']:,.0f}/s: backlog {last['pending_max_late']:,} lines, "
            f"{last['dropped']:,} dropped"
        )
    metric = Metric(
        "logs.max_rate_lps",
        "logs: highest sustained input rate kept up with",
        max(kept, default=0.0),
        "lines/s",
        50_000,
        higher_is_better=True,
        note=note,
    )
    return metric, {"stage_seconds": stage, "stages": stages}


def key_latency(quick: bool) -> tuple[list[Metric], dict[str, Any]]:
    """`f` toggles follow/pause: the status line then says PAUSED (or FOLLOW). Timed from
    writing the key byte to reading that word back from the terminal."""
    pairs = 10 if quick else 50
    samples: dict[str, list[float]] = {"pause": [], "resume": []}
    misses = 0
    with tempfile.TemporaryDirectory(prefix="sre-tui-bench-") as tmp:
        out = Path(tmp) / "result.json"
        argv = python(
            "-m", "sre_tui.bench.logs_harness", "latency", "--out", str(out),
            "--rate", str(LATENCY_RATE),
        )  # fmt: skip
        term = Terminal(argv, size=SIZE)
        try:
            term.expect("FOLLOW", timeout=30)
            time.sleep(1.0 if quick else 2.0)  # the stream is flowing, the view is full
            rng = random.Random(4)
            for _ in range(pairs):
                for kind, word in (("pause", "PAUSED"), ("resume", "FOLLOW")):
                    latency = term.key_latency("f", word, 5.0)
                    if latency is None:
                        misses += 1
                    else:
                        samples[kind].append(latency)
                    time.sleep(rng.uniform(0.1, 0.25))  # no lock-step with the frame timer
            cpu = term.cpu_seconds()
        finally:
            term.quit()
        result = _result(out, "latency")
    both = samples["pause"] + samples["resume"]
    ms = [s * 1000 for s in both]
    note = f"{misses} key(s) got no frame within 5 s" if misses else ""
    metrics = [
        Metric("logs.key_latency_p50_ms", "logs: key→frame p50 at 10k lines/s", median(ms), "ms"),
        Metric(
            "logs.key_latency_p99_ms",
            "logs: key→frame p99 at 10k lines/s",
            percentile(ms, 99) if not misses else float("nan"),
            "ms",
            50,
            note=note,
        ),
    ]
    details = {
        "samples": len(both),
        "pause_ms": [round(s * 1000, 1) for s in samples["pause"]],
        "resume_ms": [round(s * 1000, 1) for s in samples["resume"]],
        "stream": result.get("stream"),
        "app_cpu_seconds": round(cpu, 2),
    }
    return metrics, details


def peak_rss(quick: bool) -> tuple[Metric, dict[str, Any]]:
    total = 150_000 if quick else 400_000
    result = _harness("rss", "--max-lines", "100000", "--total", str(total))
    metric = Metric(
        "logs.peak_rss_mb",
        "logs: peak RSS, buffer full at 100k lines",
        result["rss_peak_mb"],
        "MB",
        150,
        note=f"{result['rss_before_mb']:.0f} MB before any line; "
        f"{result['rss_end_mb']:.0f} MB at the end",
    )
    return metric, result


def run(quick: bool) -> Part:
    part = Part("logs")
    metric, part.details["rate"] = max_rate(quick)
    part.metrics.append(metric)
    metrics, part.details["latency"] = key_latency(quick)
    part.metrics += metrics
    metric, part.details["rss"] = peak_rss(quick)
    part.metrics.append(metric)
    return part
