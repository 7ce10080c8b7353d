"""The seeds' WS_OVERLOAD incident: more WebSocket clients than the realtime pods hold.

~2600 clients want a connection; 2 pods × MAX_WEBSOCKET_CONNECTIONS=1000 cannot hold them.
Both pods sit at the limit and refuse upgrades, their send buffers fill past
BACKPRESSURE_THRESHOLD and messages are dropped, and slow clients time out
(WEBSOCKET_TIMEOUT_MS). Scaling to 5 gives every client room at ~520 per pod; raising the
limit to 2000 does it with 2 pods (~1300 each, 65 % of the new limit).

Connections are long-lived, which is what makes the recovery look real: after a scale-out
only *new* connections land on the new pods, so the busiest pod drains as clients churn
(mean lifetime CONNECTION_LIFETIME), not at once; a pod that goes away drops its clients,
who reconnect.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, UnknownMetricFamily
from prometheus_client.metrics_core import Metric

from ..flags import FlagStore
from ..interfaces import PodBehaviour, PodView
from .base import (
    BadConfig,
    ScenarioBase,
    deployment_manifest,
    env_float,
    env_int,
    namespace_manifest,
    service_manifest,
)

DEPLOYMENT = "realtime"
IMAGE = "registry.example/realtime:2.7.3"
ENV = {
    "MAX_WEBSOCKET_CONNECTIONS": "1000",
    "BACKPRESSURE_THRESHOLD": "0.8",
    "WEBSOCKET_TIMEOUT_MS": "30000",
}

DEMAND_CLIENTS = 2600.0
CONNECTION_LIFETIME = 60.0  # mean seconds a client stays connected before reconnecting
RECONNECT_SECONDS = 5.0  # mean client backoff before trying again
MESSAGES_PER_CONNECTION = 2.0  # pushed per second
DROP_SHARE_AT_FULL = 0.25  # share of messages dropped when buffers are completely full
TIMEOUTS_PER_CONNECTION = 0.002  # per second at full backpressure with a 30 s timeout
DEGRADED_WINDOW = 30.0


@dataclass(frozen=True)
class Config:
    max_connections: int
    backpressure: float
    timeout_ms: int

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Config:
        return cls(
            max_connections=env_int(env, "MAX_WEBSOCKET_CONNECTIONS", 1000, 100, 10_000),
            backpressure=env_float(env, "BACKPRESSURE_THRESHOLD", 0.8, 0.5, 0.95),
            timeout_ms=env_int(env, "WEBSOCKET_TIMEOUT_MS", 30_000, 1000, 300_000),
        )


@dataclass
class PodState:
    connections: float = 0.0
    accepted: int = 0
    refused: int = 0
    drops: int = 0
    timeouts: int = 0
    sent: int = 0
    last_drop_rate: float = 0.0
    pending_accepted: int = 0  # accepted since the last "accepted N" line
    pending_refused: int = 0


class WebSocketOverloadScenario(ScenarioBase):
    name = "websocket-overload"
    deployments = (DEPLOYMENT,)

    def __init__(
        self,
        flags: FlagStore,
        *,
        namespace: str = "production",
        seed: int = 0,
        speed: float = 1.0,
        demand_clients: float = DEMAND_CLIENTS,
    ) -> None:
        super().__init__(namespace=namespace, seed=seed, speed=speed)
        self.flags = flags
        self.demand_clients = demand_clients
        self._state: dict[str, PodState] = {}
        self._drops_total = 0  # survives pods going away, unlike the per-pod counters
        self._drops_recent: deque[tuple[float, int]] = deque()

    def initial_objects(self) -> list[dict[str, Any]]:
        return [
            namespace_manifest(self.namespace),
            deployment_manifest(DEPLOYMENT, self.namespace, replicas=2, image=IMAGE, env=ENV),
            service_manifest(DEPLOYMENT, self.namespace),
        ]

    def pod_behaviour(
        self, namespace: str, deployment: str, env: dict[str, str], image: str | None = None
    ) -> PodBehaviour:
        try:
            Config.from_env(env)
        except BadConfig:
            return PodBehaviour(pull_seconds=2.0, ready_after_seconds=3.0, crash_after_seconds=1.0)
        return PodBehaviour(pull_seconds=2.0, ready_after_seconds=3.0)

    def _startup_lines(self, pod: PodView) -> list[str]:
        version = pod.image.rpartition(":")[2] or "latest"
        lines = [f"INFO starting realtime {version} (image {pod.image})"]
        try:
            cfg = Config.from_env(pod.env)
        except BadConfig as exc:
            return [*lines, f"FATAL {exc}; exiting"]
        return [
            *lines,
            f"INFO config MAX_WEBSOCKET_CONNECTIONS={cfg.max_connections} "
            f"BACKPRESSURE_THRESHOLD={cfg.backpressure} WEBSOCKET_TIMEOUT_MS={cfg.timeout_ms}",
            "INFO websocket server listening on :8080/ws",
        ]

    def _forget(self, pod: str) -> None:
        super()._forget(pod)
        self._state.pop(pod, None)

    def _advance(self, now: float, dt: float, pods: dict[str, PodView]) -> dict[str, list[str]]:
        serving: list[tuple[PodView, PodState, Config]] = []
        for pod in sorted(pods.values(), key=lambda p: p.name):
            state = self._state.setdefault(pod.name, PodState())
            try:
                cfg: Config | None = Config.from_env(pod.env)
            except BadConfig:
                cfg = None
            if self.serving(pod) and cfg is not None:
                serving.append((pod, state, cfg))
            else:
                state.connections = 0.0  # out of the Service: its clients were cut off
                state.last_drop_rate = 0.0
                self._cpu_cores[pod.name] = 0.02 if pod.phase == "Running" else 0.0
                self._memory[pod.name] = 60 * 2**20
        logs: dict[str, list[str]] = {}
        demand = self.demand_clients * (1 + 0.03 * math.sin(2 * math.pi * now / 900))
        # Clients end their sessions and come back: the churn that rebalances pods.
        churn = 1 - math.exp(-dt / CONNECTION_LIFETIME)
        for _, state, _ in serving:
            state.connections -= state.connections * churn
        connected = sum(s.connections for _, s, _ in serving)
        waiting = max(demand - connected, 0.0)
        # Upgrades are HTTP requests: the global rate limit (0 = block traffic) caps them.
        try:
            limit = self.flags.limit("global")
        except KeyError:
            limit = math.inf
        attempts = min(waiting * (1 - math.exp(-dt / RECONNECT_SECONDS)), limit * dt)
        share = attempts / len(serving) if serving else 0.0
        for pod, state, cfg in serving:
            room = max(cfg.max_connections - state.connections, 0.0)
            accepted = min(share, room)  # round-robin: a full pod refuses its share
            state.connections += accepted
            refused = (
                self.budget.take(f"{pod.name}/refused", (share - accepted) / dt, dt) if dt else 0
            )
            took = self.budget.take(f"{pod.name}/accepted", accepted / dt, dt) if dt else 0
            state.accepted += took
            state.pending_accepted += took
            state.refused += refused
            state.pending_refused += refused
            logs[pod.name] = self._pressure(now, dt, pod, state, cfg)
        if dt > 0:
            self._drops_recent.append((now, self._drops_total))
        while len(self._drops_recent) > 1 and self._drops_recent[1][0] <= now - DEGRADED_WINDOW:
            self._drops_recent.popleft()
        return logs

    def _pressure(
        self, now: float, dt: float, pod: PodView, state: PodState, cfg: Config
    ) -> list[str]:
        rng, budget, key = self.rng, self.budget, pod.name
        usage = state.connections / cfg.max_connections
        # Past the threshold, send buffers overflow in proportion to how far past it we are.
        over = min(max((usage - cfg.backpressure) / (1 - cfg.backpressure), 0.0), 1.0)
        jitter = 0.9 + 0.2 * rng.random()
        drop_rate = MESSAGES_PER_CONNECTION * state.connections * DROP_SHARE_AT_FULL * over * jitter
        drops = budget.take(f"{key}/drops", drop_rate, dt)
        state.drops += drops
        self._drops_total += drops
        state.last_drop_rate = drop_rate
        state.sent += (
            budget.take(f"{key}/sent", MESSAGES_PER_CONNECTION * state.connections, dt) - drops
        )
        timeout_rate = state.connections * TIMEOUTS_PER_CONNECTION * over * 30_000 / cfg.timeout_ms
        timeouts = budget.take(f"{key}/timeouts", timeout_rate, dt)
        state.timeouts += timeouts
        state.connections = max(state.connections - timeouts, 0.0)  # they reconnect later
        self._cpu_cores[pod.name] = min(
            self.cpu_limit_cores,
            0.05 + 0.0006 * state.connections + 0.2 * over + 0.01 * rng.random(),
        )
        self._memory[pod.name] = (120 + 0.0625 * state.connections * (1 + over)) * 2**20

        lines: list[str] = []
        conns = round(state.connections)
        for _ in range(budget.take(f"{key}/status", 1 / 5, dt)):
            lines.append(
                f"INFO active connections={conns} (MAX_WEBSOCKET_CONNECTIONS="
                f"{cfg.max_connections}, {100 * usage:.0f}% of limit)"
            )
        if drops:
            for _ in range(min(budget.take(f"{key}/droplog", 1.0, dt), 5)):
                lines.append(
                    f"WARN backpressure: dropped {max(round(drop_rate), 1)} messages in the "
                    f"last second (send buffers {100 * min(usage, 1):.0f}% full, "
                    f"BACKPRESSURE_THRESHOLD={cfg.backpressure})"
                )
        for _ in range(min(timeouts, budget.take(f"{key}/tolog", 3.0, dt))):
            lines.append(
                f"WARN websocket client timed out after {cfg.timeout_ms}ms "
                f"(WEBSOCKET_TIMEOUT_MS={cfg.timeout_ms}) conn={rng.getrandbits(32):08x}; closing"
            )
        if budget.take(f"{key}/summary", 1 / 2, dt):
            if state.pending_refused:
                lines.append(
                    f"WARN refused {state.pending_refused} websocket upgrades: at "
                    f"MAX_WEBSOCKET_CONNECTIONS={cfg.max_connections}"
                )
            if state.pending_accepted:
                lines.append(f"INFO accepted {state.pending_accepted} new connections")
            state.pending_refused = state.pending_accepted = 0
        return lines

    def _degraded(self, deployment: str) -> str | None:
        if len(self._drops_recent) < 2:
            return None
        (t0, d0), (t1, d1) = self._drops_recent[0], self._drops_recent[-1]
        rate = (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0
        if rate > 0.1:
            return f"backpressure dropping {rate:.0f} messages/s"
        return None

    def _app_families(self) -> list[Metric]:
        ns, dep = self.namespace, DEPLOYMENT
        labels = ["namespace", "deployment", "pod"]
        active = GaugeMetricFamily(
            "websocket_connections_active", "Open WebSocket connections", labels=labels
        )
        # The runbook queries rate(websocket_backpressure_drops[...]), without the _total
        # that prometheus_client adds to counters, so it is exposed untyped (still a counter).
        drops = UnknownMetricFamily(
            "websocket_backpressure_drops",
            "Messages dropped by backpressure (counter)",
            labels=labels,
        )
        timeouts = CounterMetricFamily(
            "websocket_connection_timeouts",
            "Clients closed after WEBSOCKET_TIMEOUT_MS",
            labels=labels,
        )
        refused = CounterMetricFamily(
            "websocket_connections_refused",
            "Upgrades refused at MAX_WEBSOCKET_CONNECTIONS",
            labels=labels,
        )
        accepted = CounterMetricFamily(
            "websocket_connections_accepted", "Upgrades accepted", labels=labels
        )
        sent = CounterMetricFamily("websocket_messages_sent", "Messages delivered", labels=labels)
        for name in sorted(self._state):
            st = self._state[name]
            pod = self._pods.get(name)
            if pod is None or pod.started_at is None:
                continue
            key = [ns, dep, name]
            active.add_metric(key, round(st.connections))
            drops.add_metric(key, st.drops)
            timeouts.add_metric(key, st.timeouts)
            refused.add_metric(key, st.refused)
            accepted.add_metric(key, st.accepted)
            sent.add_metric(key, max(st.sent, 0))
        return [active, drops, timeouts, refused, accepted, sent]
