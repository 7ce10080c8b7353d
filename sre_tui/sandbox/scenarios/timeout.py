"""The seeds' TIMEOUT incident: checkout times out calling a slow payments service.

The story the numbers tell (see `_Model` for the arithmetic):
payments serves each client connection — one per checkout pod — with limited concurrency,
so when one pod sends it more than ~13 calls/s, a share of that pod's calls waits in
payments' queue and answers in 6–8 s. With TIMEOUT_THRESHOLD_MS=5000 those calls time out
and are retried (MAX_RETRIES), and a slow request tends to stay slow (same cart, same
payment method), so each one holds a checkout worker for ~15 s. The lone pod's workers
run out, requests queue, p95 climbs to seconds, the circuit breaker opens.

Two ways out, as the runbook says:
* scale to 3 pods: each pod's connection carries ~10 calls/s, payments keeps up, no slow
  calls at all;
* TIMEOUT_THRESHOLD_MS >= 8000: the 6–8 s calls complete instead of being retried, the
  workers stop drowning, and <5 % slow requests no longer move p95.
Only Ready pods receive traffic; each pod behaves by its own env, so a rollout heals (or
breaks) the service pod by pod.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric

from ..flags import FlagStore
from ..interfaces import PodBehaviour, PodView
from .base import (
    LATENCY_BUCKETS,
    LE_LABELS,
    BadConfig,
    LogSink,
    ScenarioBase,
    bucket_index,
    deployment_manifest,
    env_int,
    histogram_quantile,
    namespace_manifest,
    relax,
    service_manifest,
)

DEPLOYMENT = "checkout"
IMAGE = "registry.example/checkout:1.42.0"
ENV = {"TIMEOUT_THRESHOLD_MS": "5000", "CIRCUIT_BREAKER_TIMEOUT": "30000", "MAX_RETRIES": "3"}
TARGET = "payments"

DEMAND_RPS = 30.0  # checkout requests/s reaching the rate limiter
WORKERS = 12  # concurrent requests one pod serves
QUEUE_LIMIT = 64  # accept queue; beyond it the pod answers 503
OWN_SECONDS = 0.015  # checkout's own work per request
FAST_MEDIAN, FAST_SIGMA = 0.08, 0.45  # payments, normal path (lognormal)
FAST_MEAN = FAST_MEDIAN * math.exp(FAST_SIGMA**2 / 2)
SLOW_MIN, SLOW_MAX = 6.0, 8.0  # payments, throttled path
STAYS_SLOW = 0.8  # chance a retry of a slow call is slow again
THROTTLE_FROM, THROTTLE_FULL, SLOW_SHARE_MAX = 13.0, 50.0, 0.06  # calls/s per connection
TAU = 8.0  # seconds for queues and payments' throttling to settle after a change
SAMPLES_PER_TICK = 48  # latency draws per pod per tick; the rest are weights
BREAKER_FAILURES, BREAKER_WINDOW = 5, 10.0
DEGRADED_WINDOW = 30.0  # /health/ready judges p95 over this many scenario seconds
SLO_SECONDS = 0.5


@dataclass(frozen=True)
class Config:
    timeout_ms: int
    breaker_ms: int
    retries: int

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Config:
        return cls(
            timeout_ms=env_int(env, "TIMEOUT_THRESHOLD_MS", 5000, 100, 120_000),
            breaker_ms=env_int(env, "CIRCUIT_BREAKER_TIMEOUT", 30_000, 1000, 600_000),
            retries=env_int(env, "MAX_RETRIES", 3, 0, 10),
        )


@dataclass(frozen=True)
class SlowPath:
    """Expected cost of one request that hits payments' throttled path."""

    attempts: float
    timeouts: float
    worker_seconds: float


def slow_path(cfg: Config) -> SlowPath:
    timeout = cfg.timeout_ms / 1000
    # L ~ U(SLOW_MIN, SLOW_MAX): share of slow calls that outlive the timeout.
    times_out = min(max((SLOW_MAX - timeout) / (SLOW_MAX - SLOW_MIN), 0.0), 1.0)
    ok_mean = (SLOW_MIN + min(max(timeout, SLOW_MIN), SLOW_MAX)) / 2
    reach, slow, attempts, timeouts, work = 1.0, 1.0, 0.0, 0.0, 0.0
    for attempt in range(cfg.retries + 1):
        attempts += reach
        work += reach * (
            slow * (times_out * timeout + (1 - times_out) * ok_mean) + (1 - slow) * FAST_MEAN
        )
        reach *= slow * times_out  # only a timed-out call is retried
        timeouts += reach
        if attempt < cfg.retries:
            work += reach * _backoff(attempt)
        slow = STAYS_SLOW
    return SlowPath(attempts, timeouts, work)


def _backoff(attempt: int) -> float:
    return 0.1 * 2**attempt


def queue_wait(rho: float, work: float) -> float:
    """Mean wait for a worker: Sakasegawa's M/M/c approximation, capped by a full queue."""
    full = QUEUE_LIMIT * work / WORKERS
    if rho >= 1.0:
        return full
    return min(full, work * rho ** (math.sqrt(2 * (WORKERS + 1)) - 1) / (WORKERS * (1 - rho)))


@dataclass
class PodState:
    cfg: Config | None = None
    wait: float = 0.0  # mean queueing delay now (s)
    slow_share: float = 0.0  # share of payments calls on the throttled path now
    shed: float = 0.0  # share of requests rejected with 503 (queue full)
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0
    # Zero series from the start, so rate() has a baseline before the first error.
    codes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("200", "503", "504"), 0))
    timeouts: int = 0
    retries: int = 0
    breaker_open_until: float | None = None
    breaker_seen_at: float = -math.inf  # last "still open" reminder
    recent_timeouts: deque[tuple[float, int]] = field(default_factory=deque)


class TimeoutScenario(ScenarioBase):
    name = "service-timeout"
    deployments = (DEPLOYMENT,)

    def __init__(
        self,
        flags: FlagStore,
        *,
        namespace: str = "production",
        seed: int = 0,
        speed: float = 1.0,
        demand_rps: float = DEMAND_RPS,
        bad_image_tags: tuple[str, ...] = (),
    ) -> None:
        """`bad_image_tags`: image tags whose pull fails (ImagePullBackOff), for a
        bad-deploy story; needs the cluster to pass the image to pod_behaviour."""
        super().__init__(namespace=namespace, seed=seed, speed=speed)
        self.flags = flags
        self.demand_rps = demand_rps
        self.bad_image_tags = frozenset(bad_image_tags)
        self._state: dict[str, PodState] = {}
        self._recent: deque[tuple[float, list[int]]] = deque()  # deployment-wide, for health

    def initial_objects(self) -> list[dict[str, Any]]:
        flags = self.flags.flags()
        return [
            namespace_manifest(self.namespace),
            deployment_manifest(DEPLOYMENT, self.namespace, replicas=1, image=IMAGE, env=ENV),
            service_manifest(DEPLOYMENT, self.namespace),
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "feature-flags", "namespace": self.namespace},
                "data": {k: "true" if v else "false" for k, v in flags.items()},
            },
        ]

    def pod_behaviour(
        self, namespace: str, deployment: str, env: dict[str, str], image: str | None = None
    ) -> PodBehaviour:
        if image is not None and image.rpartition(":")[2] in self.bad_image_tags:
            return PodBehaviour(pull_seconds=2.0, ready_after_seconds=4.0, image_pull_fails=True)
        try:
            Config.from_env(env)
        except BadConfig:
            # The service validates its env at start-up and exits: CrashLoopBackOff.
            return PodBehaviour(pull_seconds=2.0, ready_after_seconds=4.0, crash_after_seconds=1.0)
        return PodBehaviour(pull_seconds=2.0, ready_after_seconds=4.0)

    # Simulation ----------------------------------------------------------------------

    def _startup_lines(self, pod: PodView) -> list[str]:
        version = pod.image.rpartition(":")[2] or "latest"
        lines = [f"INFO starting checkout {version} (image {pod.image})"]
        try:
            cfg = Config.from_env(pod.env)
        except BadConfig as exc:
            return [*lines, f"FATAL {exc}; exiting"]
        return [
            *lines,
            f"INFO config TIMEOUT_THRESHOLD_MS={cfg.timeout_ms} "
            f"CIRCUIT_BREAKER_TIMEOUT={cfg.breaker_ms} MAX_RETRIES={cfg.retries}",
            f"INFO payments client: 1 connection to payments:443 (pod {pod.name})",
            "INFO listening on :8080",
        ]

    def _forget(self, pod: str) -> None:
        super()._forget(pod)
        self._state.pop(pod, None)

    def _advance(self, now: float, dt: float, pods: dict[str, PodView]) -> dict[str, list[str]]:
        serving: list[tuple[PodView, PodState, Config]] = []
        for pod in sorted(pods.values(), key=lambda p: p.name):
            state = self._state.setdefault(pod.name, PodState())
            try:
                state.cfg = Config.from_env(pod.env)
            except BadConfig:
                state.cfg = None
            if self.serving(pod) and state.cfg is not None:
                serving.append((pod, state, state.cfg))
            else:
                state.wait = relax(state.wait, 0.0, dt, TAU)  # nothing arrives: queue drains
                state.slow_share = relax(state.slow_share, 0.0, dt, TAU)
                self._cpu_cores[pod.name] = 0.02 if pod.phase == "Running" else 0.0
                self._memory[pod.name] = 90 * 2**20
        # The global rate limit sits in front of checkout; 0 blocks all traffic.
        try:
            limit = self.flags.limit("global")
        except KeyError:
            limit = math.inf
        demand = self.demand_rps * (1 + 0.05 * math.sin(2 * math.pi * now / 600))
        per_pod = min(demand, limit) / len(serving) if serving else 0.0
        logs: dict[str, list[str]] = {}
        tick_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        for pod, state, cfg in serving:
            self._settle(state, cfg, per_pod, dt)
            logs[pod.name] = self._traffic(now, dt, pod, state, cfg, per_pod, tick_counts)
            logs[pod.name].extend(self._breaker(now, pod, state, cfg))
        if dt > 0:
            self._recent.append((now, tick_counts))
        while self._recent and self._recent[0][0] <= now - DEGRADED_WINDOW:
            self._recent.popleft()
        return logs

    def _settle(self, state: PodState, cfg: Config, per_pod: float, dt: float) -> None:
        """Move the pod's queue and payments' throttling toward what this load implies."""
        slow = slow_path(cfg)
        work = (
            OWN_SECONDS
            + (1 - state.slow_share) * FAST_MEAN
            + state.slow_share * slow.worker_seconds
        )
        rho = per_pod * work / WORKERS
        state.shed = max(0.0, 1 - 1 / rho) if rho > 1 else 0.0
        calls = per_pod * (1 - state.shed) * (1 + state.slow_share * (slow.attempts - 1))
        throttled = (calls - THROTTLE_FROM) / (THROTTLE_FULL - THROTTLE_FROM)
        target_share = SLOW_SHARE_MAX * min(max(throttled, 0.0), 1.0)
        state.slow_share = relax(state.slow_share, target_share, dt, TAU)
        state.wait = relax(state.wait, queue_wait(rho, work), dt, TAU)

    def _traffic(
        self,
        now: float,
        dt: float,
        pod: PodView,
        state: PodState,
        cfg: Config,
        per_pod: float,
        tick_counts: list[int],
    ) -> list[str]:
        rng, budget, key = self.rng, self.budget, pod.name
        n = budget.take(f"{key}/req", per_pod, dt)
        served_rps = per_pod * (1 - state.shed)
        self._cpu_cores[pod.name] = min(
            self.cpu_limit_cores,
            0.05 + 0.022 * served_rps + 0.15 * min(state.wait / 2, 1.0) + 0.01 * rng.random(),
        )
        self._memory[pod.name] = (140 + 0.8 * per_pod * state.wait) * 2**20
        if n == 0:
            return []
        # ~2 request lines and <=6 timeout errors per pod-second: enough to read, bounded.
        rates = {"info": 2.0, "timeout": 6.0, "fail": 2.0, "slow": 1.0, "shed": 1.0}
        sink = LogSink({cat: budget.take(f"{key}/{cat}", r, dt) for cat, r in rates.items()})
        k = min(n, SAMPLES_PER_TICK)
        base, extra = divmod(n, k)
        shed = timeouts = 0
        for i in range(k):
            weight = base + (1 if i < extra else 0)
            if rng.random() < state.shed:
                shed += weight
                latency, code, timed_out = 0.002 + 0.003 * rng.random(), "503", 0
            else:
                latency, code, timed_out = self._request(state, cfg, sink)
            timeouts += timed_out * weight
            state.retries += min(timed_out, cfg.retries) * weight
            b = bucket_index(latency)
            state.buckets[b] += weight
            tick_counts[b] += weight
            state.latency_sum += latency * weight
            state.codes[code] = state.codes.get(code, 0) + weight
        state.timeouts += timeouts
        if timeouts:
            state.recent_timeouts.append((now, timeouts))
        if shed and sink.wants("shed"):
            sink.add(
                "shed",
                f"WARN rejected {shed} requests with 503: worker queue full "
                f"({QUEUE_LIMIT} waiting, {WORKERS} workers busy)",
            )
        logged = sink.logged.get("timeout", 0)
        if timeouts > logged > 0:  # say how many sampling left out: counts stay truthful
            sink.add(
                "summary",
                f"ERROR ... {timeouts - logged} more upstream timeouts calling payments "
                "not logged (log sampling)",
            )
        return sink.lines

    def _request(self, state: PodState, cfg: Config, sink: LogSink) -> tuple[float, str, int]:
        """One sampled request: (latency, status code, timeouts), with its log lines."""
        rng, req = self.rng, f"{self.rng.getrandbits(32):08x}"
        # Gamma(2) around the mean wait: most requests wait about the mean, few far longer.
        latency = OWN_SECONDS + (rng.gammavariate(2.0, state.wait / 2) if state.wait > 1e-4 else 0)
        slow = rng.random() < state.slow_share
        attempts = cfg.retries + 1
        for attempt in range(attempts):
            if slow:
                call = rng.uniform(SLOW_MIN, SLOW_MAX)
            else:
                call = rng.lognormvariate(math.log(FAST_MEDIAN), FAST_SIGMA)
            if call * 1000 <= cfg.timeout_ms:
                latency += call
                if call > 2.0 and sink.wants("slow"):
                    ms = f"{call * 1000:.0f}ms"
                    sink.add("slow", f"WARN slow upstream: payments answered in {ms} req={req}")
                if sink.wants("info"):
                    ms = f"{latency * 1000:.0f}ms"
                    sink.add("info", f"INFO POST /api/v1/checkout 200 {ms} req={req}")
                return latency, "200", attempt
            latency += cfg.timeout_ms / 1000
            last = attempt == cfg.retries
            if sink.wants("timeout"):
                then = "giving up" if last else f"retrying in {_backoff(attempt) * 1000:.0f}ms"
                sink.add(
                    "timeout",
                    f"ERROR upstream timeout after {cfg.timeout_ms}ms calling payments "
                    f"(TIMEOUT_THRESHOLD_MS={cfg.timeout_ms}) attempt={attempt + 1}/{attempts} "
                    f"req={req}; {then}",
                )
            if not last:
                latency += _backoff(attempt)
                slow = rng.random() < STAYS_SLOW
        if sink.wants("fail"):
            sink.add(
                "fail",
                f"ERROR POST /api/v1/checkout 504 {latency * 1000:.0f}ms req={req} "
                f"payments did not answer in {attempts} attempts",
            )
        return latency, "504", attempts

    def _breaker(self, now: float, pod: PodView, state: PodState, cfg: Config) -> list[str]:
        """A per-pod breaker on payments, reported (gauge and logs) but not shedding load:
        what keeps the incident going is the retries, and the breaker only shows it."""
        while state.recent_timeouts and state.recent_timeouts[0][0] <= now - BREAKER_WINDOW:
            state.recent_timeouts.popleft()
        failures = sum(n for _, n in state.recent_timeouts)
        open_for = cfg.breaker_ms / 1000
        if state.breaker_open_until is None:
            if failures >= BREAKER_FAILURES:
                state.breaker_open_until = now + open_for
                state.breaker_seen_at = now
                return [
                    f"WARN circuit breaker OPEN for payments: {failures} timeouts in "
                    f"{BREAKER_WINDOW:.0f}s; half-open in {cfg.breaker_ms}ms "
                    f"(CIRCUIT_BREAKER_TIMEOUT={cfg.breaker_ms})"
                ]
            return []
        if now >= state.breaker_open_until:
            if failures:
                state.breaker_open_until = now + open_for
                state.breaker_seen_at = now
                return [
                    "WARN circuit breaker HALF_OPEN for payments: trial call timed out; "
                    f"circuit breaker OPEN for payments again for {cfg.breaker_ms}ms"
                ]
            state.breaker_open_until = None
            return ["INFO circuit breaker CLOSED for payments: trial call succeeded"]
        if now - state.breaker_seen_at >= 10.0:
            state.breaker_seen_at = now
            return [
                f"WARN circuit breaker OPEN for payments ({failures} timeouts in the last "
                f"{BREAKER_WINDOW:.0f}s)"
            ]
        return []

    def _degraded(self, deployment: str) -> str | None:
        counts = (
            [sum(c) for c in zip(*(c for _, c in self._recent), strict=True)]
            if self._recent
            else []
        )
        p95 = histogram_quantile(0.95, counts) if counts else math.nan
        if p95 > SLO_SECONDS:
            return f"p95 latency {p95:.2f}s > {SLO_SECONDS}s over the last {DEGRADED_WINDOW:.0f}s"
        return None

    # Metrics -------------------------------------------------------------------------

    def _app_families(self) -> list[Metric]:
        ns, dep = self.namespace, DEPLOYMENT
        hist = HistogramMetricFamily(
            "service_latency_histogram",
            "Request latency of the service in seconds",
            labels=["namespace", "deployment", "pod"],
        )
        requests = CounterMetricFamily(
            "http_requests",
            "HTTP requests served",
            labels=["namespace", "deployment", "pod", "code"],
        )
        timeouts = CounterMetricFamily(
            "service_timeouts",
            "Upstream calls abandoned at TIMEOUT_THRESHOLD_MS",
            labels=["namespace", "deployment", "pod", "target"],
        )
        retries = CounterMetricFamily(
            "service_retries",
            "Upstream calls retried after a timeout",
            labels=["namespace", "deployment", "pod", "target"],
        )
        breaker = GaugeMetricFamily(
            "circuit_breaker_open",
            "1 while the circuit breaker to the target is open",
            labels=["namespace", "deployment", "pod", "target"],
        )
        for name in sorted(self._state):
            st = self._state[name]
            pod = self._pods.get(name)
            if pod is None or pod.started_at is None:
                continue
            cumulative, running = [], 0
            for le, count in zip(LE_LABELS, st.buckets, strict=True):
                running += count
                cumulative.append((le, running))
            hist.add_metric([ns, dep, name], cumulative, sum_value=st.latency_sum)
            for code in sorted(st.codes):
                requests.add_metric([ns, dep, name, code], st.codes[code])
            timeouts.add_metric([ns, dep, name, TARGET], st.timeouts)
            retries.add_metric([ns, dep, name, TARGET], st.retries)
            breaker.add_metric(
                [ns, dep, name, TARGET], 1.0 if st.breaker_open_until is not None else 0.0
            )
        return [hist, requests, timeouts, retries, breaker]
