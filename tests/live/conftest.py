"""A demo environment running in this process (on its own loop in a thread), so tests can
read the simulated API's request log, inject pod output, and stop or restart Prometheus."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sre_tui.backends.config_files import LoadedConfig, load_config
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.sandbox.backends import ALERTMANAGER_NAMES, PROMETHEUS_NAMES, find_binary
from sre_tui.sandbox.demo import DemoEnvironment, DemoInfo
from sre_tui.workspace import Workspace


class HostileOutput:
    """Wraps the scenario: while `lines` is non-empty, checkout pods also write them."""

    def __init__(self, scenario: Any) -> None:
        self.inner = scenario
        self.lines: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def tick(self, now: float, pods: list[Any]) -> dict[tuple[str, str], list[str]]:
        produced = self.inner.tick(now, pods)
        if self.lines:
            for pod in pods:
                if pod.deployment == "checkout" and pod.ready:
                    produced.setdefault((pod.namespace, pod.name), []).extend(self.lines)
        return produced


class BackgroundDemo:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.env = DemoEnvironment(speed=10)
        self.info: DemoInfo | None = None
        self.hostile: HostileOutput | None = None

    def run(self, coro: Any, timeout: float = 90) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> DemoInfo:
        self.thread.start()
        self.info = self.run(self.env.start())
        assert self.env.cluster is not None
        self.hostile = HostileOutput(self.env.cluster.scenario)
        self.env.cluster.scenario = self.hostile
        return self.info

    def stop(self) -> None:
        self.run(self.env.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def service(self, name: str) -> Any:
        return next(s for s in self.env.services if s.name == name)

    def workspace(self, state: Path, metrics_seconds: float = 2.0) -> Workspace:
        assert self.info is not None
        loaded = load_config(self.info.config)
        refresh = loaded.config.refresh.model_copy(
            update={"metrics_seconds": metrics_seconds, "alerts_seconds": 2.0}
        )
        config = loaded.config.model_copy(update={"refresh": refresh})
        store = IncidentStore(state)
        return Workspace.open(LoadedConfig(config, loaded.path), "demo", store=store)


@pytest.fixture(scope="module")
def demo() -> Iterator[BackgroundDemo]:
    if not (find_binary(PROMETHEUS_NAMES) and find_binary(ALERTMANAGER_NAMES)):
        if os.environ.get("CI"):
            pytest.fail("Prometheus/Alertmanager are not installed, and CI must have them")
        pytest.skip("Prometheus/Alertmanager not installed (make backends installs them)")
    background = BackgroundDemo()
    background.start()
    try:
        yield background
    finally:
        background.stop()
