"""Start-up to the first interactive frame: `sre-tui run service-timeout` vs bare Textual.

Both run as new processes in a real pty of 80×24; the clock stops when the first screen's
text arrives on the terminal (the app is then reading keys). Runs alternate between the
two so drift on the machine affects both alike; one warm-up run each is not counted.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from sre_tui.bench import hello
from sre_tui.bench.report import Metric, Part, median
from sre_tui.bench.term import Terminal, bench_env, python

APP_READY = "Check service health"  # the first step of the checklist


def first_frame(argv: list[str], ready: str, env: dict[str, str]) -> float:
    started = time.monotonic()
    term = Terminal(argv, size=(80, 24), env=env)
    try:
        seen = term.expect(ready, timeout=60)
    finally:
        term.quit()
    return seen - started


def run(quick: bool) -> Part:
    runs = 2 if quick else 10
    part = Part("startup")
    app_times: list[float] = []
    hello_times: list[float] = []
    app_argv = python("-m", "sre_tui", "run", "service-timeout")
    hello_argv = python(str(Path(hello.__file__)))
    with tempfile.TemporaryDirectory(prefix="sre-tui-bench-") as state:

        def env(run: int) -> dict[str, str]:  # an empty incident store every run
            return bench_env(SRE_TUI_STATE_DIR=str(Path(state) / str(run)))

        first_frame(app_argv, APP_READY, env(-1))  # warm the page cache and bytecode
        first_frame(hello_argv, hello.READY_TEXT, env(-1))
        for i in range(runs):
            app_times.append(first_frame(app_argv, APP_READY, env(i)))
            hello_times.append(first_frame(hello_argv, hello.READY_TEXT, env(i)))
    app_s, hello_s = median(app_times), median(hello_times)
    part.details = {
        "runs": runs,
        "sre_tui_seconds": [round(t, 4) for t in app_times],
        "hello_seconds": [round(t, 4) for t in hello_times],
        "command": "sre-tui run service-timeout (80x24 pty, fresh state dir)",
    }
    part.metrics = [
        Metric("startup.sre_tui_s", "startup: sre-tui run (median)", app_s, "s"),
        Metric("startup.hello_s", "startup: bare Textual hello (median)", hello_s, "s"),
        Metric("startup.ratio", "startup: ratio sre-tui / bare Textual", app_s / hello_s, "×", 1.5),
    ]
    return part
