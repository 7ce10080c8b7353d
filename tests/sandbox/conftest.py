"""A running sandbox API server for the Kubernetes client and kubectl tests.

The server runs on its own asyncio loop in a background thread, so the tests can use the
synchronous `kubernetes` client and subprocesses exactly as the app and a user would.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client, config

from sre_tui.sandbox.cluster import Cluster
from sre_tui.sandbox.interfaces import Clock, HealthAnswer, PodBehaviour, PodView
from sre_tui.sandbox.kube_api import KubeServer, kubeconfig_yaml, serve_kube_api
from sre_tui.sandbox.policy import AccessPolicy

T = TypeVar("T")
TOKEN = "test-token-0123456789"
NS = "production"


class MiniScenario:
    """One deployment `web` (2 replicas), its service and a flag ConfigMap. Pod behaviour
    follows the container env, so tests steer it through the API: PULL=fail gives
    ImagePullBackOff, CRASH_AFTER=<s> a crash loop."""

    name = "mini"

    def __init__(self) -> None:
        self.ticks = 0

    def initial_objects(self) -> list[dict[str, Any]]:
        labels = {"app": "web"}
        return [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": NS, "labels": labels},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": "web",
                                    "image": "example/web:1.0",
                                    "ports": [{"containerPort": 8080}],
                                    "env": [{"name": "GREETING", "value": "hello"}],
                                }
                            ]
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": NS},
                "spec": {"selector": labels, "ports": [{"name": "http", "port": 8080}]},
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "flags", "namespace": NS},
                "data": {"checkout": "on"},
            },
        ]

    def pod_behaviour(self, namespace: str, deployment: str, env: dict[str, str]) -> PodBehaviour:
        crash = env.get("CRASH_AFTER")
        return PodBehaviour(
            pull_seconds=1.0,
            ready_after_seconds=1.0,
            image_pull_fails=env.get("PULL") == "fail",
            crash_after_seconds=float(crash) if crash else None,
        )

    def tick(self, now: float, pods: list[PodView]) -> dict[tuple[str, str], list[str]]:
        self.ticks += 1
        return {
            (p.namespace, p.name): [f"tick {self.ticks} GREETING={p.env.get('GREETING', '')}"]
            for p in pods
            if p.started_at is not None
        }

    def health(self, namespace: str, service: str, path: str, pods: list[PodView]) -> HealthAnswer:
        if path != "/health":
            return HealthAnswer(404, json.dumps({"error": "not found", "path": path}))
        ready = sum(1 for p in pods if p.ready)
        return HealthAnswer(200, json.dumps({"status": "ok", "service": service, "ready": ready}))

    def metrics_text(self) -> bytes:
        return b""


@dataclass
class Sandbox:
    cluster: Cluster
    server: KubeServer
    loop: asyncio.AbstractEventLoop
    kubeconfig: Path

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the cluster's loop (the store is not thread-safe) and return its result."""

        async def run() -> T:
            return fn()

        return self.run(run())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def api_client(self) -> client.ApiClient:
        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def requests(self, path_part: str) -> list[Any]:
        return [r for r in list(self.cluster.request_log) if path_part in r.path]


SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[SandboxFactory]:
    started: list[tuple[Sandbox, threading.Thread]] = []

    def make(
        policy: AccessPolicy | None = None, watch_history: int = 1000, speed: float = 20.0
    ) -> Sandbox:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="sandbox-loop", daemon=True)
        thread.start()

        async def up() -> tuple[Cluster, KubeServer]:
            cluster = Cluster(
                MiniScenario(), Clock(speed=speed), watch_history=watch_history, tick_seconds=0.05
            )
            cluster.bookmark_seconds = 0.2
            await cluster.start()
            server = await serve_kube_api(cluster, token=TOKEN, policy=policy or AccessPolicy())
            return cluster, server

        cluster, server = asyncio.run_coroutine_threadsafe(up(), loop).result(10)
        path = tmp_path / f"kubeconfig-{len(started)}"
        path.write_text(kubeconfig_yaml(server.url, TOKEN))
        box = Sandbox(cluster, server, loop, path)
        started.append((box, thread))
        return box

    yield make

    for box, thread in started:

        async def down(box: Sandbox = box) -> None:
            await box.server.stop()
            await box.cluster.stop()

        asyncio.run_coroutine_threadsafe(down(), box.loop).result(10)
        box.loop.call_soon_threadsafe(box.loop.stop)
        thread.join(5)
        box.loop.close()


@pytest.fixture
def sandbox(make_sandbox: SandboxFactory) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[client.ApiClient]:
    api_client = sandbox.api_client()
    yield api_client
    api_client.close()
