"""The seam between the simulated cluster and the scenarios that run on it.

The cluster (`sandbox.cluster`, `sandbox.kube_api`) owns Kubernetes objects and the pod
lifecycle. A scenario (`sandbox.scenarios`) owns what the workloads *do*: the objects the
demo starts with, how a pod behaves (ready delay, crash, image pull failure), the log lines
each running pod writes, the metrics the service exports, and what its health endpoints
answer. Neither imports the other's internals; they meet only here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol


class Clock:
    """Scenario time. `speed` > 1 makes the demo (and tests) run faster than the wall."""

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """Seconds since the epoch, in scenario time."""
        return self._wall0 + (time.monotonic() - self._mono0) * self.speed

    def seconds(self, scenario_seconds: float) -> float:
        """Wall-clock seconds that `scenario_seconds` of scenario time take."""
        return scenario_seconds / self.speed


@dataclass(frozen=True)
class PodView:
    """What a scenario may know about a pod."""

    namespace: str
    name: str
    deployment: str  # owning deployment ("" for bare pods)
    container: str  # the first container's name
    image: str
    env: dict[str, str]  # the first container's env, name → value
    phase: str  # Pending | Running | Succeeded | Failed
    ready: bool
    started_at: float | None  # scenario time the container started, None if not running
    restart_count: int
    template_hash: str  # pod-template-hash label: pods of one ReplicaSet share it
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PodBehaviour:
    """How a new pod of a deployment behaves, decided by the scenario at creation."""

    pull_seconds: float = 2.0  # ContainerCreating
    ready_after_seconds: float = 3.0  # Running → Ready
    image_pull_fails: bool = False  # ImagePullBackOff, never starts
    crash_after_seconds: float | None = None  # CrashLoopBackOff cycle when set


@dataclass(frozen=True)
class HealthAnswer:
    status: int
    body: str
    content_type: str = "application/json"


class Scenario(Protocol):
    name: str

    def initial_objects(self) -> list[dict[str, Any]]:
        """Manifests (plain dicts, as kubectl would send) created at start: Namespaces,
        Deployments, Services, ConfigMaps. Deployments become ReplicaSets and pods."""
        ...

    def pod_behaviour(
        self, namespace: str, deployment: str, env: dict[str, str]
    ) -> PodBehaviour: ...

    def tick(self, now: float, pods: list[PodView]) -> dict[tuple[str, str], list[str]]:
        """Advance the scenario to `now` given every pod in the cluster; return new log
        lines per (namespace, pod name) since the previous tick. Also updates metrics."""
        ...

    def health(self, namespace: str, service: str, path: str, pods: list[PodView]) -> HealthAnswer:
        """Answer for GET `path` on a service, reached through the API server's proxy."""
        ...

    def metrics_text(self) -> bytes:
        """The scenario's metrics in the Prometheus text exposition format."""
        ...
