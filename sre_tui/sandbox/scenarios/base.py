"""What every scenario shares: time bookkeeping, bounded log budgets, env parsing, the
latency-histogram math, manifests, and the kube-state-metrics / cAdvisor style series
that the runbooks' PromQL expects next to the application's own metrics."""

from __future__ import annotations

import json
import math
import random
import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from ..interfaces import HealthAnswer, PodBehaviour, PodView

# Upper bounds (seconds) of the latency histogram: fine around the 0.5 s SLO so
# histogram_quantile's linear interpolation lands on the right side of it, and up to 30 s
# so a request that burns all its retries still falls in a finite bucket.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75,
    1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0,
)  # fmt: skip
LE_LABELS: tuple[str, ...] = (*(repr(b) for b in LATENCY_BUCKETS), "+Inf")

# A large clock jump (a paused laptop, a debugger) must not replay hours of traffic.
MAX_TICK_SECONDS = 300.0
LOG_LINES_PER_POD_SECOND = 20  # hard cap, whatever the scenario's own budgets say


def bucket_index(seconds: float) -> int:
    """Index of the first bucket whose `le` bound holds `seconds` (len(...) for +Inf)."""
    return bisect_left(LATENCY_BUCKETS, seconds)


def histogram_quantile(q: float, counts: Sequence[float]) -> float:
    """Prometheus' histogram_quantile over per-bucket (not cumulative) counts laid out as
    LATENCY_BUCKETS + [+Inf]. NaN without observations."""
    total = sum(counts)
    if total <= 0:
        return math.nan
    rank = q * total
    cumulative = 0.0
    for i, count in enumerate(counts):
        below = cumulative
        cumulative += count
        if cumulative >= rank and count > 0:
            if i == len(LATENCY_BUCKETS):  # +Inf: Prometheus answers the highest finite bound
                return LATENCY_BUCKETS[-1]
            start = LATENCY_BUCKETS[i - 1] if i > 0 else 0.0
            return start + (LATENCY_BUCKETS[i] - start) * (rank - below) / count
    return LATENCY_BUCKETS[-1]


class BadConfig(ValueError):
    """An env value the service refuses at start-up (the pod crash-loops)."""


def env_int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadConfig(f"invalid {name}={raw!r}: expected an integer from {lo} to {hi}") from None
    if not lo <= value <= hi:
        raise BadConfig(f"invalid {name}={raw!r}: expected an integer from {lo} to {hi}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise BadConfig(f"invalid {name}={raw!r}: expected a number from {lo} to {hi}") from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise BadConfig(f"invalid {name}={raw!r}: expected a number from {lo} to {hi}")
    return value


class Budget:
    """Turns rates (events per scenario-second) into whole counts per tick, carrying the
    fraction over, so counts and log volume track scenario time without randomness."""

    def __init__(self) -> None:
        self._carry: dict[str, float] = {}

    def take(self, key: str, rate: float, dt: float) -> int:
        total = self._carry.get(key, 0.0) + max(rate, 0.0) * dt
        whole = math.floor(total)
        self._carry[key] = total - whole
        return whole


class LogSink:
    """One pod's lines for one tick, with an allowance per category. Callers ask `wants`
    before formatting, so the lines that sampling drops cost nothing."""

    def __init__(self, allowed: dict[str, int]) -> None:
        self._allowed = allowed
        self.lines: list[str] = []
        self.logged: dict[str, int] = {}

    def wants(self, category: str) -> bool:
        return self._allowed.get(category, 0) > 0

    def add(self, category: str, line: str) -> None:
        self._allowed[category] = self._allowed.get(category, 0) - 1
        self.logged[category] = self.logged.get(category, 0) + 1
        self.lines.append(line)


def relax(current: float, target: float, dt: float, tau: float) -> float:
    """First-order approach to `target`: stable for any dt, so a fast clock (big ticks)
    follows the same curve as a slow one."""
    return target + (current - target) * math.exp(-dt / tau)


def json_answer(code: int, /, **body: Any) -> HealthAnswer:
    return HealthAnswer(code, json.dumps(body, sort_keys=True))


def not_found(path: str) -> HealthAnswer:
    return json_answer(404, status="not found", path=path)


# --- manifests --------------------------------------------------------------------------


def namespace_manifest(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def deployment_manifest(
    name: str,
    namespace: str,
    *,
    replicas: int,
    image: str,
    env: Mapping[str, str],
    port: int = 8080,
    cpu_limit: str = "1",
    memory_limit: str = "512Mi",
) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": 120,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "image": image,
                            "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
                            "env": [{"name": k, "value": v} for k, v in env.items()],
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "256Mi"},
                                "limits": {"cpu": cpu_limit, "memory": memory_limit},
                            },
                            # Pod-level probes only: /health/ready reports the *service*
                            # (dependencies included) and must not pull pods out of the
                            # Service during an incident.
                            "readinessProbe": {
                                "httpGet": {"path": "/health", "port": port},
                                "periodSeconds": 5,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/health/live", "port": port},
                                "periodSeconds": 10,
                            },
                        }
                    ]
                },
            },
        },
    }


def service_manifest(name: str, namespace: str, port: int = 8080) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": name},
            "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }


# --- the scenario skeleton ----------------------------------------------------------------


class _Collector:
    def __init__(self, scenario: ScenarioBase) -> None:
        self._scenario = scenario

    def collect(self) -> Iterable[Metric]:
        return self._scenario.collect()


class ScenarioBase:
    """Owns some deployments in one namespace. Subclasses implement `_advance` (traffic
    for `dt` scenario seconds), `_app_families` and the per-pod resource model."""

    name: str = "base"
    deployments: tuple[str, ...] = ()
    cpu_limit_cores: float = 1.0
    memory_limit_bytes: float = 512 * 2**20

    def __init__(self, *, namespace: str, seed: int, speed: float = 1.0) -> None:
        self.namespace = namespace
        # The Clock's speed. Event counters grow in scenario time (a fast clock makes them
        # fast), but CPU seconds are divided by it so that rate(cpu)/limit — a share of a
        # core per *wall* second as Prometheus computes it — stays a percentage.
        self.speed = speed
        self.rng = random.Random(seed)
        self.budget = Budget()
        self._lock = threading.Lock()
        self._last_now: float | None = None
        self._pods: dict[str, PodView] = {}  # this scenario's pods as last seen
        self._cpu_seconds: dict[str, float] = {}
        self._cpu_cores: dict[str, float] = {}
        self._memory: dict[str, float] = {}
        self._started: dict[str, tuple[int, float | None]] = {}  # pod → seen start
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Collector(self))

    # Scenario protocol ------------------------------------------------------------------

    def owns(self, namespace: str, deployment: str) -> bool:
        return namespace == self.namespace and deployment in self.deployments

    def pod_behaviour(
        self, namespace: str, deployment: str, env: dict[str, str], image: str | None = None
    ) -> PodBehaviour:
        return PodBehaviour()

    def tick(self, now: float, pods: list[PodView]) -> dict[tuple[str, str], list[str]]:
        with self._lock:
            dt = (
                0.0
                if self._last_now is None
                else min(max(now - self._last_now, 0.0), MAX_TICK_SECONDS)
            )
            self._last_now = now if self._last_now is None else max(now, self._last_now)
            mine = {p.name: p for p in pods if self.owns(p.namespace, p.deployment)}
            for gone in self._pods.keys() - mine.keys():
                self._forget(gone)
            self._pods = mine
            logs: dict[str, list[str]] = {}
            for pod in mine.values():
                key = (pod.restart_count, pod.started_at)
                if pod.started_at is not None and self._started.get(pod.name) != key:
                    self._started[pod.name] = key
                    logs.setdefault(pod.name, []).extend(self._startup_lines(pod))
            for pod_name, lines in self._advance(now, dt, mine).items():
                logs.setdefault(pod_name, []).extend(lines)
            for pod in mine.values():
                running = pod.phase == "Running" and pod.started_at is not None
                cores = self._cpu_cores.get(pod.name, 0.0) if running else 0.0
                used = cores * dt / self.speed
                self._cpu_seconds[pod.name] = self._cpu_seconds.get(pod.name, 0.0) + used
            cap = max(1, math.ceil(LOG_LINES_PER_POD_SECOND * max(dt, 1.0)))
            return {(self.namespace, n): lines[:cap] for n, lines in logs.items() if lines}

    def metrics_text(self) -> bytes:
        return generate_latest(self._registry)

    def health(self, namespace: str, service: str, path: str, pods: list[PodView]) -> HealthAnswer:
        path = path.split("?", 1)[0].rstrip("/") or "/"
        if not self.owns(namespace, service):
            return json_answer(404, status="not found", service=service)
        mine = [p for p in pods if p.namespace == namespace and p.deployment == service]
        ready = [p for p in mine if p.ready and p.phase == "Running"]
        running = [p for p in mine if p.phase == "Running" and p.started_at is not None]
        with self._lock:
            if path == "/health":
                status = "ok" if ready else "unavailable"
                return json_answer(200 if ready else 503, status=status, service=service,
                                   ready_pods=len(ready), pods=len(mine))  # fmt: skip
            if path == "/health/live":
                return json_answer(200 if running else 503, status="ok" if running else "down",
                                   service=service, running_pods=len(running))  # fmt: skip
            if path == "/health/ready":
                if not ready:
                    return json_answer(503, status="unavailable", service=service, ready_pods=0)
                reason = self._degraded(service)
                if reason:
                    return json_answer(503, status="degraded", service=service, reason=reason)
                return json_answer(200, status="ready", service=service, ready_pods=len(ready))
        return not_found(path)

    # For subclasses ---------------------------------------------------------------------

    def _advance(self, now: float, dt: float, pods: dict[str, PodView]) -> dict[str, list[str]]:
        raise NotImplementedError

    def _startup_lines(self, pod: PodView) -> list[str]:
        return []

    def _degraded(self, deployment: str) -> str | None:
        """Why the service is degraded (for /health/ready), or None. Called locked."""
        return None

    def _app_families(self) -> list[Metric]:
        return []

    def _forget(self, pod: str) -> None:
        """A pod is gone: its series disappear, as a deleted pod's /metrics would."""
        for table in (self._cpu_seconds, self._cpu_cores, self._memory, self._started):
            table.pop(pod, None)

    @staticmethod
    def serving(pod: PodView) -> bool:
        return pod.ready and pod.phase == "Running"

    # Metrics --------------------------------------------------------------------------

    def collect(self) -> list[Metric]:
        with self._lock:
            return self._app_families() + self._kube_families()

    def _kube_families(self) -> list[Metric]:
        ns = self.namespace
        available = GaugeMetricFamily(
            "kube_deployment_status_replicas_available",
            "Ready pods of the deployment (as kube-state-metrics reports it)",
            labels=["namespace", "deployment"],
        )
        for dep in self.deployments:
            count = sum(1 for p in self._pods.values() if p.deployment == dep and self.serving(p))
            available.add_metric([ns, dep], count)
        ready = GaugeMetricFamily(
            "kube_pod_status_ready", "Pod readiness", labels=["namespace", "pod", "condition"]
        )
        restarts = CounterMetricFamily(
            "kube_pod_container_status_restarts",
            "Container restarts",
            labels=["namespace", "pod", "container"],
        )
        limits = GaugeMetricFamily(
            "kube_pod_container_resource_limits",
            "Container resource limits",
            labels=["namespace", "pod", "container", "resource", "unit"],
        )
        cpu = CounterMetricFamily(
            "container_cpu_usage_seconds",
            "CPU time consumed (cAdvisor)",
            labels=["namespace", "pod", "container"],
        )
        memory = GaugeMetricFamily(
            "container_memory_working_set_bytes",
            "Working set (cAdvisor)",
            labels=["namespace", "pod", "container"],
        )
        for pod in sorted(self._pods.values(), key=lambda p: p.name):
            ready.add_metric([ns, pod.name, "true"], 1.0 if pod.ready else 0.0)
            ready.add_metric([ns, pod.name, "false"], 0.0 if pod.ready else 1.0)
            restarts.add_metric([ns, pod.name, pod.container], pod.restart_count)
            limits.add_metric([ns, pod.name, pod.container, "cpu", "core"], self.cpu_limit_cores)
            limits.add_metric(
                [ns, pod.name, pod.container, "memory", "byte"], self.memory_limit_bytes
            )
            if pod.name in self._cpu_seconds and pod.started_at is not None:
                cpu.add_metric([ns, pod.name, pod.container], self._cpu_seconds[pod.name])
                memory.add_metric([ns, pod.name, pod.container], self._memory.get(pod.name, 0.0))
        return [available, ready, restarts, limits, cpu, memory]
