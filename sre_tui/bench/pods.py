"""The pods pane on 5,000 pods: time to the first full table, and watch event → row.

The simulated API (sre_tui.sandbox) serves a namespace of 5,000 bare pods over HTTPS from
a thread of this process; the pane runs alone in a real pty (`pods_harness`) and reaches
it through KubeBackend, as the app does. Pods are then deleted one at a time through the
API (grace period 0) and the time is taken from sending the DELETE to the first frame
without that pod's row.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sre_tui.bench.report import Metric, Part, median, percentile
from sre_tui.bench.sandbox import CONTEXT, NAMESPACE, BackgroundSandbox, QuietScenario, bare_pod
from sre_tui.bench.term import BenchError, Terminal, python

PODS = 5000
SELECTOR = "app=bulk"


class Records:
    """Reads the harness's JSON lines as they are written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[dict[str, Any]] = []
        self._offset = 0

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            handle.seek(self._offset)
            data = handle.read()
        complete = data[: data.rfind("\n") + 1]
        self._offset += len(complete.encode())
        self.seen += [json.loads(line) for line in complete.splitlines() if line]

    def wait(self, match: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            for record in self.seen:
                if record.get("e") == "error":
                    raise BenchError(f"pods harness: {record.get('message')}")
                if all(record.get(k) == v for k, v in match.items()):
                    return record
            if time.monotonic() > deadline:
                return None
            time.sleep(0.002)
            self.poll()


def run(quick: bool) -> Part:
    from kubernetes import client, config

    deletes = 10 if quick else 40
    part = Part("pods")
    with tempfile.TemporaryDirectory(prefix="sre-tui-bench-") as tmp:
        sandbox = BackgroundSandbox(Path(tmp), QuietScenario({}), tick_seconds=60)
        sandbox.start()
        try:
            started = time.monotonic()
            names = [f"bulk-{i:05d}" for i in range(PODS)]

            def create() -> None:
                assert sandbox.cluster is not None
                for name in names:
                    sandbox.cluster.create(bare_pod(name, {"app": "bulk"}))
                sandbox.cluster.wake()  # bare pods start at the next reconcile: now

            sandbox.call(create)

            def running() -> int:
                assert sandbox.cluster is not None
                pods = sandbox.cluster.items("pods", NAMESPACE)
                return sum(1 for p in pods if p["status"]["phase"] == "Running")

            while sandbox.call(running) < PODS:
                if time.monotonic() - started > 120:
                    raise BenchError("the sandbox did not start 5,000 pods in 120 s")
                time.sleep(0.2)
            part.details["sandbox_setup_seconds"] = round(time.monotonic() - started, 2)

            out = Path(tmp) / "records.jsonl"
            records = Records(out)
            argv = python(
                "-m", "sre_tui.bench.pods_harness", "--kubeconfig", str(sandbox.kubeconfig),
                "--context", CONTEXT, "--namespace", NAMESPACE, "--selector", SELECTOR,
                "--expect", str(PODS), "--out", str(out),
            )  # fmt: skip
            term = Terminal(argv, size=(120, 40))
            api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
            try:
                watch = records.wait({"e": "watch"}, 60)
                first = records.wait({"e": "first_table"}, 60)
                listed = records.wait({"e": "list"}, 1)
                if watch is None or first is None or listed is None:
                    raise BenchError("the pods pane showed no full table within 60 s")
                first_s = first["t"] - watch["t"]
                list_s = listed["t1"] - listed["t0"]
                time.sleep(0.5 if quick else 1.0)  # the selected pod's events load
                core = client.CoreV1Api(api)
                rng = random.Random(7)
                lat: list[float] = []
                phases: list[tuple[float, float, float]] = []
                api_rtt: list[float] = []
                misses = 0
                for name in names[1 : deletes + 1]:  # visible rows, not the selected one
                    sent = time.monotonic()
                    core.delete_namespaced_pod(
                        name, NAMESPACE, grace_period_seconds=0, _preload_content=False
                    )
                    api_rtt.append(time.monotonic() - sent)
                    gone = records.wait({"e": "removed", "name": name}, 5)
                    if gone is None:
                        misses += 1
                    else:
                        lat.append(gone["t"] - sent)
                        phases.append(
                            (
                                gone["apply0"] - sent,
                                gone["apply1"] - gone["apply0"],
                                gone["t"] - gone["apply1"],
                            )
                        )
                    time.sleep(rng.uniform(0.1, 0.3))
            finally:
                api.close()
                term.quit(timeout=1.0)  # its exit is not measured
        finally:
            sandbox.stop()
    ms = [s * 1000 for s in lat]
    note = f"{misses} deletion(s) never reached the table" if misses else ""
    part.details.update(
        pods=PODS,
        list_request_seconds=round(list_s, 3),
        table_after_list_seconds=round(first_s - list_s, 3),
        event_to_row_ms=[round(x, 1) for x in ms],
        delete_request_ms=[round(x * 1000, 1) for x in api_rtt],
        # Where the time goes: DELETE sent → batch applied (API, watch, apply timer),
        # applying the batch, and applied → frame.
        event_phases_median_ms={
            name: round(median([p[i] * 1000 for p in phases]), 1)
            for i, name in enumerate(("until_apply", "apply", "frame"))
        },
        event_phases_ms=[[round(x * 1000, 1) for x in p] for p in phases],
    )
    part.metrics = [
        Metric(
            "pods.first_table_s",
            "pods: first table, 5,000 pods",
            first_s,
            "s",
            0.5,
            note=f"list over HTTPS {list_s:.2f} s + table {first_s - list_s:.2f} s",
        ),
        Metric("pods.event_to_row_p50_ms", "pods: watch event → row p50", median(ms), "ms", 100),
        Metric(
            "pods.event_to_row_p99_ms",
            "pods: watch event → row p99",
            percentile(ms, 99) if not misses else float("nan"),
            "ms",
            100,
            note=note,
        ),
    ]
    return part
