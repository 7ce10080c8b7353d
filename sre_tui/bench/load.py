"""Load: the real app under a sustained log firehose and pod churn, for minutes.

`sre-tui run service-timeout` runs in a real 160×48 pty against the simulated API, whose
`web` pods each write 500 log lines/s (thousands a second in all) while a churn thread
deletes one of them through the API every second (the deployment recreates it) and
scales the deployment to another size between 3 and 9 every 5 s. The logs pane follows
all pods of the target, so it opens and closes streams as they come and go.

Meanwhile keys keep the UI busy and time it: `f` twice (PAUSED, then FOLLOW on the logs
pane's status), `p` (the pods table's header) and `l` (the logs pane's status), each timed
from writing the key to reading the text it brings back. A sampler reads the app's RSS
and CPU seconds from /proc every few seconds; the slope of RSS over the second half tells
bounded memory (~0) from a leak. At the end, with churn stopped, `p` and `l` must still
be answered. The sandbox shares this process (and the GIL) with the pty reader, so the
latencies include a little of this side's scheduling too.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sre_tui.bench.incident import (
    LOGS_MARKER,
    PODS_HEADER,
    app_argv,
    app_config,
    app_env,
    open_panes,
)
from sre_tui.bench.report import Metric, Part, median, percentile
from sre_tui.bench.sandbox import NAMESPACE, BackgroundSandbox, FirehoseScenario
from sre_tui.bench.term import BenchError, Terminal

SECONDS_ENV = "SRE_TUI_BENCH_LOAD_SECONDS"  # overrides the window (the test runs a few)
SIZE = (160, 48)
DEPLOYMENT = "web"
REPLICAS = 6
SCALE_RANGE = (3, 9)
LINES_PER_POD = 500.0
DELETE_EVERY = 1.0
SCALE_EVERY = 5.0
KEY_TIMEOUT = 5.0
# (key, what the frame it causes contains). From the logs pane with FOLLOW, and back.
PROBES = (("f", "PAUSED"), ("f", "FOLLOW"), ("p", PODS_HEADER), ("l", LOGS_MARKER))


class Churn:
    """Deletes a random pod of the deployment every DELETE_EVERY s through the API, with a
    grace period of 0 or 1 s (so some show Terminating), and every SCALE_EVERY s scales
    the deployment to another size in SCALE_RANGE."""

    def __init__(self, kubeconfig: Path, seed: int = 11) -> None:
        self.kubeconfig = kubeconfig
        self.rng = random.Random(seed)
        self.replicas = REPLICAS
        self.deletes = 0
        self.scales = 0
        self.errors = 0
        self.first_errors: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="churn", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(30)

    def _run(self) -> None:
        from kubernetes import client, config

        api = config.new_client_from_config(config_file=str(self.kubeconfig))
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        next_scale = time.monotonic() + SCALE_EVERY
        try:
            while not self.stopping.wait(DELETE_EVERY):
                try:
                    if time.monotonic() >= next_scale:
                        next_scale += SCALE_EVERY
                        self._scale(apps)
                    self._delete_one(core)
                except Exception as exc:  # counted and shown; the churn goes on
                    self.errors += 1
                    if len(self.first_errors) < 5:
                        self.first_errors.append(f"{exc.__class__.__name__}: {exc}"[:300])
        finally:
            api.close()

    def _scale(self, apps: Any) -> None:
        low, high = SCALE_RANGE
        replicas = self.rng.choice([n for n in range(low, high + 1) if n != self.replicas])
        body = {"spec": {"replicas": replicas}}
        apps.patch_namespaced_deployment_scale(DEPLOYMENT, NAMESPACE, body, _preload_content=False)
        self.replicas = replicas
        self.scales += 1

    def _delete_one(self, core: Any) -> None:
        listed = core.list_namespaced_pod(
            NAMESPACE, label_selector=f"app={DEPLOYMENT}", _preload_content=False
        )
        names = [
            pod["metadata"]["name"]
            for pod in json.loads(listed.data)["items"]
            if not pod["metadata"].get("deletionTimestamp")
        ]
        if names:
            core.delete_namespaced_pod(
                self.rng.choice(names),
                NAMESPACE,
                grace_period_seconds=self.rng.choice((0, 1)),
                _preload_content=False,
            )
            self.deletes += 1


class Sampler:
    """The app's RSS and CPU seconds, the lines produced and the churn so far, every
    `every` seconds from `start()` until `stop()` (which takes a last sample)."""

    def __init__(
        self, term: Terminal, scenario: FirehoseScenario, churn: Churn, every: float
    ) -> None:
        self.term = term
        self.scenario = scenario
        self.churn = churn
        self.every = every
        self.samples: list[dict[str, float]] = []
        self.started = 0.0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self) -> None:
        self.started = time.monotonic()
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        self.sample()

    def _run(self) -> None:
        while True:
            self.sample()
            if self.stopping.wait(self.every):
                return

    def sample(self) -> None:
        try:
            rss, cpu = self.term.memory_mb("VmRSS"), self.term.cpu_seconds()
        except (OSError, BenchError):
            return  # the app is gone; the liveness check says so
        self.samples.append(
            {
                "t": round(time.monotonic() - self.started, 2),
                "rss_mb": round(rss, 2),
                "cpu_s": round(cpu, 2),
                "lines": self.scenario.produced,
                "deletes": self.churn.deletes,
                "scales": self.churn.scales,
            }
        )


def rss_slope(samples: list[dict[str, float]], since: float) -> float | None:
    """Least-squares slope of RSS in MB per minute over the samples from `since` s on."""
    late = [s for s in samples if s["t"] >= since]
    if len(late) < 3:
        return None
    fit = statistics.linear_regression([s["t"] / 60 for s in late], [s["rss_mb"] for s in late])
    return fit.slope


def _duration(quick: bool) -> float:
    override = os.environ.get(SECONDS_ENV)
    if override:
        return float(override)
    return 30.0 if quick else 300.0


def _wait_running(sandbox: BackgroundSandbox, pods: int, timeout: float = 60) -> None:
    def running() -> int:
        assert sandbox.cluster is not None
        views = sandbox.cluster.pod_views(NAMESPACE)
        return sum(1 for v in views if v.phase == "Running")

    deadline = time.monotonic() + timeout
    while sandbox.call(running) < pods:
        if time.monotonic() > deadline:
            raise BenchError(f"the sandbox did not start {pods} pods in {timeout:.0f} s")
        time.sleep(0.1)


def _answers(term: Terminal) -> bool:
    """Alive, and shows the pods pane then the logs pane when asked (from the logs pane)."""
    if not term.child.isalive():
        return False
    return all(
        term.key_latency(key, marker, KEY_TIMEOUT) is not None
        for key, marker in (("p", PODS_HEADER), ("l", LOGS_MARKER))
    )


def _drive(term: Terminal, seconds: float) -> tuple[list[list[Any]], list[list[Any]]]:
    """Probe keys in rounds until `seconds` have passed (ending on the logs pane with
    FOLLOW, as it started) or the app is gone. Returns ([t, key, ms]…, [t, key]… missed)."""
    rng = random.Random(5)
    started = time.monotonic()
    latencies: list[list[Any]] = []
    misses: list[list[Any]] = []
    while time.monotonic() - started < seconds and term.child.isalive():
        for key, marker in PROBES:
            at = time.monotonic() - started
            latency = term.key_latency(key, marker, KEY_TIMEOUT)
            if latency is None:
                misses.append([round(at, 2), key])
            else:
                latencies.append([round(at, 2), key, round(latency * 1000, 1)])
            # The pods pane stays up a while (it has churn to draw); otherwise a short,
            # random pause so keys do not fall in step with the panes' timers.
            time.sleep(rng.uniform(0.5, 1.5) if key == "p" else rng.uniform(0.1, 0.3))
    return latencies, misses


def run(quick: bool) -> Part:
    seconds = _duration(quick)
    every = 1.5 if quick else 3.0
    part = Part("load")
    with tempfile.TemporaryDirectory(prefix="sre-tui-bench-") as tmp:
        workdir = Path(tmp)
        scenario = FirehoseScenario({DEPLOYMENT: REPLICAS}, LINES_PER_POD)
        sandbox = BackgroundSandbox(workdir, scenario, tick_seconds=0.1)
        sandbox.start()
        try:
            _wait_running(sandbox, REPLICAS)
            config = app_config(
                workdir, sandbox.kubeconfig, None, "sre-tui bench: a log firehose under churn"
            )
            with Terminal(app_argv(config, DEPLOYMENT), size=SIZE, env=app_env(workdir)) as term:
                warnings = open_panes(term, REPLICAS)
                rss_open = term.memory_mb()
                churn = Churn(sandbox.kubeconfig)
                sampler = Sampler(term, scenario, churn, every)
                lines0 = scenario.produced
                churn.start()
                sampler.start()
                try:
                    latencies, misses = _drive(term, seconds)
                finally:
                    churn.stop()
                    sampler.stop()
                elapsed = time.monotonic() - sampler.started
                lines = scenario.produced - lines0
                alive = _answers(term)
                try:
                    peak: float | None = term.memory_mb("VmHWM")
                except (OSError, BenchError):  # the app is gone
                    peak = None
                # Not a figure, but worth knowing: how long Ctrl+Q takes after the load.
                asked = term.send("\x11")
                exited = term.eof.wait(10)
                quit_s = round(time.monotonic() - asked, 2) if exited else "> 10 (killed)"
        finally:
            sandbox.stop()
    samples = sampler.samples
    if not samples:
        raise BenchError("the app was gone before the first sample")
    cpu_pct = 100 * (samples[-1]["cpu_s"] - samples[0]["cpu_s"]) / max(elapsed, 1e-9)
    slope = rss_slope(samples, elapsed / 2)
    ms = [entry[2] for entry in latencies]
    missed = len(misses)
    miss_note = f"{missed} key(s) got no frame within {KEY_TIMEOUT:.0f} s" if missed else ""
    churned = churn.deletes + churn.scales
    # Each changes the focus, so the footer rebuilds its keys: worth knowing beside memory.
    switches = sum(1 for entry in latencies if entry[1] in ("p", "l"))
    part.details.update(
        seconds=round(elapsed, 1),
        size=f"{SIZE[0]}x{SIZE[1]}",
        settings={
            "deployment": DEPLOYMENT,
            "replicas_start": REPLICAS,
            "scale_range": list(SCALE_RANGE),
            "lines_per_pod_per_s": LINES_PER_POD,
            "delete_every_s": DELETE_EVERY,
            "scale_every_s": SCALE_EVERY,
            "sample_every_s": every,
        },
        warnings=warnings,
        rss_after_panes_opened_mb=round(rss_open, 1),
        lines_per_second=round(lines / elapsed),
        pane_switches=switches,
        deletes=churn.deletes,
        scales=churn.scales,
        churn_errors=churn.errors,
        churn_first_errors=churn.first_errors,
        app_cpu_percent=round(cpu_pct, 1),
        quit_seconds=quit_s,
        # [t s, key, ms] per key, and [t s, key] for keys that got no frame in time.
        key_latency_ms=latencies,
        key_misses=misses,
        samples=samples,
    )
    rss = [s["rss_mb"] for s in samples]
    part.metrics = [
        Metric("load.rss_start_mb", "load: app RSS at start", rss[0], "MB"),
        Metric(
            "load.rss_peak_mb",
            "load: app RSS peak",
            peak if peak is not None else max(rss),
            "MB",
            200,
            note="" if peak is not None else "the app was gone: the highest sample instead",
        ),
        Metric("load.rss_end_mb", "load: app RSS at the end", rss[-1], "MB"),
        Metric(
            "load.rss_slope_mb_per_min",
            "load: RSS slope, second half",
            slope,
            "MB/min",
            1.0,
            note=f"{switches} pane switches (p, l) in the window"
            if slope is not None
            else "fewer than 3 samples in the second half",
        ),
        Metric("load.key_latency_p50_ms", "load: key→frame p50", median(ms), "ms"),
        Metric(
            "load.key_latency_p99_ms",
            "load: key→frame p99",
            percentile(ms, 99) if not missed else None,
            "ms",
            250,
            note=miss_note,
        ),
        Metric(
            "load.key_latency_max_ms",
            "load: key→frame max",
            max(ms, default=None) if not missed else None,
            "ms",
            note=miss_note,
        ),
        Metric("load.app_cpu_percent", "load: app CPU (% of one core)", cpu_pct, "%"),
        Metric(
            "load.pods_churned",
            "load: pods churned (deletes + scales)",
            float(churned),
            "",
            count=True,
            note=f"{churn.deletes} deleted, {churn.scales} scale changes"
            + (f", {churn.errors} API errors" if churn.errors else ""),
        ),
        Metric(
            "load.log_lines",
            "load: log lines written by the pods",
            float(lines),
            "lines",
            count=True,
            note=f"{lines / elapsed:,.0f} lines/s over {elapsed:.0f} s",
        ),
        Metric(
            "load.alive_at_end",
            "load: alive, answering keys at the end (1 = yes)",
            1.0 if alive else 0.0,
            "",
            1.0,
            higher_is_better=True,
            count=True,
        ),
    ]
    return part
