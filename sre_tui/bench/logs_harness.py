"""The log pane alone in a real terminal, fed by a producer thread (run by `bench.logs`).

    python -m sre_tui.bench.logs_harness rate --rates 10000,50000 --stage 3 --out F
    python -m sre_tui.bench.logs_harness latency --rate 10000 --out F   (until Ctrl+Q)
    python -m sre_tui.bench.logs_harness rss --max-lines 100000 --total 300000 --out F

The producer appends LogLine objects to `LogsPane.pending` exactly as the pane's stream
workers do (bounded by PENDING_MAX; what does not fit is counted in `pending_dropped`), in
small chunks every 2 ms so the rate is steady. Results go to the --out file as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Log

from sre_tui.bench.lines import log_text
from sre_tui.core.logbuffer import LogLine
from sre_tui.ui.widgets import logs_pane
from sre_tui.ui.widgets.logs_pane import LogsPane

PODS = ["checkout-7d9f8b6c5-x2k4p", "checkout-7d9f8b6c5-q8mzt", "checkout-7d9f8b6c5-h5n2w"]
HIGHLIGHT = ["(?i)timeout", "(?i)circuit breaker"]  # the service-timeout runbook's
TICK = 0.002


def make_line(i: int, base: float) -> LogLine:
    """A fresh, distinct line of a typical length (~130 characters)."""
    return LogLine(datetime.fromtimestamp(base + i * 1e-5, UTC), PODS[i % len(PODS)], log_text(i))


def rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Harness(App[None]):
    CSS = """
    LogsPane { height: 1fr; }
    #logs-status { height: 1; padding: 0 1; }
    #logs-view { height: 1fr; }
    #logs-filter-input { height: 3; }
    """

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.result: dict[str, Any] = {"mode": args.mode}
        self.stop = threading.Event()
        self.feeder: threading.Thread | None = None
        self._pane: LogsPane | None = None

    def compose(self) -> ComposeResult:
        yield LogsPane(highlight=HIGHLIGHT, max_lines=self.args.max_lines, id="logs")

    @property
    def pane(self) -> LogsPane:
        assert self._pane is not None
        return self._pane

    def on_mount(self) -> None:
        self._pane = self.query_one(LogsPane)
        self.pane.pods = sorted(PODS)  # several pods: stern-style prefixes, as in the app
        self.query_one(Log).focus()
        self.result["rss_before_mb"] = rss_now_mb()
        target = {"rate": self.ramp, "latency": self.steady, "rss": self.fill}[self.args.mode]
        # After the first frame, so start-up work is not part of any figure.
        self.feeder = threading.Thread(target=self._guard(target), daemon=True)
        self.call_after_refresh(self.feeder.start)

    def _guard(self, target: Any) -> Any:
        def run() -> None:
            try:
                target()
            except Exception as exc:  # reported, not swallowed
                self.result["error"] = repr(exc)
            if not self.stop.is_set():
                with contextlib.suppress(Exception):
                    self.call_from_thread(self.exit)

        return run

    # ---- feeding -----------------------------------------------------------------------

    def _offer(self, lines: list[LogLine]) -> int:
        """Append as the stream workers do: bounded, drops counted. Returns lines taken."""
        pane = self.pane
        room = max(0, logs_pane.PENDING_MAX - len(pane.pending))
        taken = lines if len(lines) <= room else lines[:room]
        pane.pending.extend(taken)
        pane.pending_dropped += len(lines) - len(taken)
        return len(taken)

    def _drained(self) -> int:
        buffer = self.pane.buffer
        return buffer.dropped + len(buffer.lines)

    def _feed(self, rate: float, seconds: float, pool: list[LogLine], at: int) -> dict[str, Any]:
        pane = self.pane
        fed = 0
        samples: list[tuple[float, int]] = []
        dropped0, drained0, cpu0 = pane.pending_dropped, self._drained(), cpu_seconds()
        start = time.monotonic()
        next_tick = start
        while (now := time.monotonic()) - start < seconds and not self.stop.is_set():
            due = int(rate * (now - start)) - fed
            if due > 0:
                chunk = pool[at : at + due]
                while len(chunk) < due:  # round the pool again
                    chunk += pool[: due - len(chunk)]
                at = (at + due) % len(pool)
                self._offer(chunk)
                fed += due
            samples.append((now - start, len(pane.pending)))
            next_tick += TICK
            time.sleep(max(0.0, next_tick - time.monotonic()))
        elapsed = time.monotonic() - start
        cpu = cpu_seconds() - cpu0
        # Let the pane finish what it was given, then check the books.
        settle_until = time.monotonic() + (0 if self.stop.is_set() else 5)
        while pane.pending and time.monotonic() < settle_until:
            time.sleep(0.01)
        settle = time.monotonic() - start - elapsed
        late = [n for t, n in samples if t >= elapsed / 2]
        dropped = pane.pending_dropped - dropped0
        drained = self._drained() - drained0
        return {
            "rate": rate,
            "seconds": round(elapsed, 3),
            "fed": fed,
            "achieved_rate": round(fed / elapsed),
            "dropped": dropped,
            "drained": drained,
            "books_balance": drained == fed - dropped,
            "pending_max": max((n for _, n in samples), default=0),
            "pending_max_late": max(late, default=0),
            "pending_end": samples[-1][1] if samples else 0,
            "settle_seconds": round(settle, 3),
            "cpu_percent": round(100 * cpu / elapsed, 1),
            "_next": at,
        }

    def ramp(self) -> None:
        base = time.time()
        pool = [make_line(i, base) for i in range(60_000)]
        stages = []
        at = 0
        for rate in self.args.rates:
            stage = self._feed(rate, self.args.stage, pool, at)
            at = stage.pop("_next")
            # Keeping up: nothing dropped, every line accounted for, and the backlog in
            # the second half of the stage stays under a quarter of a second of input
            # (no growth), with the producer really delivering the rate.
            stage["producer_ok"] = stage["achieved_rate"] >= 0.95 * rate
            stage["kept_up"] = (
                stage["dropped"] == 0
                and stage["books_balance"]
                and stage["pending_max_late"] <= 0.25 * rate
                and stage["settle_seconds"] < 0.5
            )
            stages.append(stage)
            if not (stage["kept_up"] and stage["producer_ok"]):
                break
        self.result["stages"] = stages

    def steady(self) -> None:
        base = time.time()
        pool = [make_line(i, base) for i in range(60_000)]
        stage = self._feed(self.args.rate, 3600, pool, 0)
        for key in ("_next", "books_balance", "settle_seconds", "drained"):
            stage.pop(key)  # stopped mid-stream: the books cannot balance
        self.result["stream"] = stage

    def fill(self) -> None:
        """Fresh lines (no shared pool) until the buffer has turned over `total` lines."""
        pane = self.pane
        base = time.time()
        i = 0
        start = time.monotonic()
        while i < self.args.total:
            if len(pane.pending) > 20_000:  # back-pressure: nothing dropped for space
                time.sleep(0.005)
                continue
            batch = [make_line(n, base) for n in range(i, min(i + 2000, self.args.total))]
            i += self._offer(batch)
        while pane.pending:
            time.sleep(0.01)
        time.sleep(1.0)  # a few drains and frames with the buffer full
        log = self.query_one(Log)
        self.result.update(
            fed=i,
            seconds=round(time.monotonic() - start, 2),
            buffer_lines=len(pane.buffer.lines),
            buffer_dropped=pane.buffer.dropped,
            log_widget_lines=log.line_count,
            rss_end_mb=round(rss_now_mb(), 1),
        )

    def on_unmount(self) -> None:
        self.stop.set()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["rate", "latency", "rss"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--rates", default="10000,50000")
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--stage", type=float, default=3.0)
    parser.add_argument("--max-lines", type=int, default=10_000)
    parser.add_argument("--total", type=int, default=300_000)
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",")]
    app = Harness(args)
    app.run()
    app.stop.set()
    if app.feeder is not None and app.feeder.is_alive():
        app.feeder.join(10)
    result = app.result
    result["rss_peak_mb"] = round(rss_peak_mb(), 1)
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
