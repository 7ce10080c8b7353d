"""Idle: CPU and terminal output of `sre-tui run` with every pane live and nothing changing.

The app runs in a real 160×48 pty against the simulated API (three Ready pods that write
no logs and never change) and, when installed, a real Prometheus with no series (every
query answers "no data"). Once the pods pane is watching and the logs pane follows its
three streams, CPU (utime+stime of the app's process from /proc) and the bytes it writes
to the terminal are counted over a window.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from sre_tui.bench.incident import app_argv, app_config, app_env, open_panes
from sre_tui.bench.report import Metric, Part
from sre_tui.bench.sandbox import BackgroundSandbox, QuietScenario
from sre_tui.bench.term import Terminal

SIZE = (160, 48)


def _prometheus(workdir: Path):  # -> Service | None
    from sre_tui.sandbox.backends import (
        PROMETHEUS_NAMES,
        find_binary,
        start_prometheus,
        wait_ready,
    )

    binary = find_binary(PROMETHEUS_NAMES)
    if binary is None:
        return None
    service = start_prometheus(
        binary,
        scrape_target="127.0.0.1:9",  # nothing listens: no series, nothing ever changes
        rule_files=[],
        alertmanager=None,
        workdir=workdir,
    )
    wait_ready(service)
    return service


def run(quick: bool) -> Part:
    window = 5.0 if quick else 15.0
    quit_wait = 1.0 if quick else 5.0
    part = Part("idle")
    with tempfile.TemporaryDirectory(prefix="sre-tui-bench-") as tmp:
        workdir = Path(tmp)
        sandbox = BackgroundSandbox(workdir, QuietScenario({"web": 3}), tick_seconds=0.25)
        sandbox.start()
        prometheus = None
        try:
            prometheus = _prometheus(workdir)
            prom_url = prometheus.url if prometheus else None
            config = app_config(
                workdir, sandbox.kubeconfig, prom_url, "sre-tui bench: a quiet simulated cluster"
            )
            with Terminal(app_argv(config, "web"), size=SIZE, env=app_env(workdir)) as term:
                if warnings := open_panes(term, 3):
                    part.details["warning"] = "; ".join(warnings)
                time.sleep(1.5 if quick else 5.0)  # start-up work settles
                term.recording = []
                bytes0, cpu0, t0 = term.bytes, term.cpu_seconds(), time.monotonic()
                time.sleep(window)
                bytes1, cpu1, t1 = term.bytes, term.cpu_seconds(), time.monotonic()
                writes = term.recording
                term.recording = None
                # Not a figure, but worth knowing: how long Ctrl+Q takes to end the app.
                asked = term.send("\x11")
                exited = term.eof.wait(quit_wait)
                exit_s = time.monotonic() - asked if exited else None
                term.quit(timeout=0.1)
        finally:
            if prometheus is not None:
                prometheus.stop()
            sandbox.stop()
    elapsed = t1 - t0
    cpu_pct = 100 * (cpu1 - cpu0) / elapsed
    rate = (bytes1 - bytes0) / elapsed
    part.details.update(
        window_seconds=round(elapsed, 2),
        cpu_seconds=round(cpu1 - cpu0, 3),
        bytes=bytes1 - bytes0,
        writes=len(writes),
        # What the terminal got, to see what still moves: the first writes, escapes and all.
        sample=[chunk.decode("utf-8", "replace")[:300] for _, chunk in writes[:6]],
        prometheus=bool(prometheus),
        quit_seconds=round(exit_s, 2) if exit_s is not None else f"> {quit_wait:.0f} (killed)",
        panes="pods (watch), logs (3 follow streams), metrics"
        + (" (Prometheus, no data)" if prometheus else " (no Prometheus installed)"),
    )
    part.metrics = [
        Metric("idle.cpu_percent", "idle: CPU (% of one core)", cpu_pct, "%", 1.0),
        Metric("idle.output_bytes_per_s", "idle: terminal output", rate, "B/s", 1024),
    ]
    return part
