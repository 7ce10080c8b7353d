"""The simulated Kubernetes API (sre_tui.sandbox) on its own loop in a background thread,
with a quiet scenario (pods start at once, never change, and write no logs) or a firehose
(every running pod writes a steady stream of log lines)."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from sre_tui.bench.lines import log_text
from sre_tui.sandbox import cluster as cluster_module
from sre_tui.sandbox.cluster import Cluster
from sre_tui.sandbox.interfaces import Clock, HealthAnswer, PodBehaviour, PodView
from sre_tui.sandbox.kube_api import KubeServer, kubeconfig_yaml, serve_kube_api

T = TypeVar("T")
NAMESPACE = "production"
CONTEXT = "bench"


class QuietScenario:
    """Deployments that become Ready at once and then stay still; no log lines."""

    name = "quiet"

    def __init__(self, deployments: dict[str, int]) -> None:
        self.deployments = deployments

    def initial_objects(self) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        ]
        for name, replicas in self.deployments.items():
            labels = {"app": name}
            objects.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
                    "spec": {
                        "replicas": replicas,
                        "selector": {"matchLabels": labels},
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {"containers": [{"name": name, "image": f"bench/{name}:1"}]},
                        },
                    },
                }
            )
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"selector": labels, "ports": [{"name": "http", "port": 8080}]},
                }
            )
        return objects

    def pod_behaviour(self, namespace: str, deployment: str, env: dict[str, str]) -> PodBehaviour:
        return PodBehaviour(pull_seconds=0.0, ready_after_seconds=0.0)

    def tick(self, now: float, pods: list[PodView]) -> dict[tuple[str, str], list[str]]:
        return {}

    def health(self, namespace: str, service: str, path: str, pods: list[PodView]) -> HealthAnswer:
        return HealthAnswer(200, json.dumps({"status": "ok"}))

    def metrics_text(self) -> bytes:
        return b""


class FirehoseScenario(QuietScenario):
    """Every running pod writes `lines_per_second` log lines, whoever deletes or scales it.

    New pods take a moment to pull and become Ready so churn shows in the pods pane as
    it would on a cluster. `produced` counts the lines handed to the cluster (read from
    other threads: a plain int, written only on the sandbox's loop).
    """

    name = "firehose"

    def __init__(self, deployments: dict[str, int], lines_per_second: float) -> None:
        super().__init__(deployments)
        self.lines_per_second = lines_per_second
        self.produced = 0
        self._carry: dict[str, float] = {}  # fractions of a line owed, per pod
        self._last: float | None = None

    def pod_behaviour(self, namespace: str, deployment: str, env: dict[str, str]) -> PodBehaviour:
        return PodBehaviour(pull_seconds=0.5, ready_after_seconds=1.0)

    def tick(self, now: float, pods: list[PodView]) -> dict[tuple[str, str], list[str]]:
        # At most a second's worth after a stall, rather than a burst of the whole backlog.
        elapsed = min(1.0, now - self._last) if self._last is not None else 0.0
        self._last = now
        lines: dict[tuple[str, str], list[str]] = {}
        carry: dict[str, float] = {}
        for pod in pods:
            if pod.phase != "Running" or pod.started_at is None:
                continue  # the cluster drops lines of a pod that is not running
            due = self._carry.get(pod.name, 0.0) + self.lines_per_second * elapsed
            count = int(due)
            carry[pod.name] = due - count
            if count:
                first = self.produced
                lines[(pod.namespace, pod.name)] = [log_text(first + i) for i in range(count)]
                self.produced += count
        self._carry = carry  # deleted pods drop out: bounded however long the churn runs
        return lines


def bare_pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "bench/app:1"}]},
    }


class BackgroundSandbox:
    """Start with `start()`, stop with `stop()`; `kubeconfig` reaches it over HTTPS."""

    def __init__(self, workdir: Path, scenario: QuietScenario, *, tick_seconds: float) -> None:
        self.workdir = workdir
        self.scenario = scenario
        self.tick_seconds = tick_seconds
        self.token = secrets.token_urlsafe(24)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sandbox", daemon=True)
        self.cluster: Cluster | None = None
        self.server: KubeServer | None = None
        self.kubeconfig = workdir / "kubeconfig"
        self._max_events = cluster_module.MAX_EVENTS

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 120) -> T:
        """`fn()` on the sandbox's loop (the cluster's store is not thread-safe)."""

        async def run() -> T:
            return fn()

        return self.run(run(), timeout)

    def start(self) -> None:
        # Past MAX_EVENTS the simulator trims events with a pass over all of them per new
        # event: quadratic, and minutes to start 5,000 pods. A benchmark keeps them all.
        self._max_events = cluster_module.MAX_EVENTS
        cluster_module.MAX_EVENTS = 10**7
        self.thread.start()

        async def up() -> None:
            self.cluster = Cluster(self.scenario, Clock(), tick_seconds=self.tick_seconds)
            await self.cluster.start()
            self.server = await serve_kube_api(self.cluster, token=self.token)

        self.run(up())
        assert self.server is not None
        self.kubeconfig.write_text(kubeconfig_yaml(self.server.url, self.token, CONTEXT, NAMESPACE))
        self.kubeconfig.chmod(0o600)

    def stop(self) -> None:
        async def down() -> None:
            if self.server is not None:
                await self.server.stop()
            if self.cluster is not None:
                await self.cluster.stop()

        try:
            self.run(down(), 30)
        finally:
            cluster_module.MAX_EVENTS = self._max_events
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
