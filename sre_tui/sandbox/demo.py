"""`sre-tui demo`: a simulated production environment on loopback, and the app against it.

The environment is the simulated Kubernetes API (with its controller and scenarios), the
scenarios' metrics endpoint, a feature-flag / rate-limit service, and — when installed —
a real Prometheus scraping the metrics with the alert rules of `config/demo/` and a real
Alertmanager. The app reaches all of it through a generated kubeconfig and config, the
same way it reaches a real cluster.

Backends can be made to fail on purpose (sandbox/faults.py): `DemoEnvironment.faults` in
tests; for `--headless`, `POST {flags}/api/faults` with the flag token, e.g.
`{"action": "error", "path": "/pods$", "status": 500}` or `{"action": "clear"}`. The app
reaches Prometheus through a proxy that obeys those switches (`prometheus_upstream` is
Prometheus itself).

`--headless` runs the environment in this process and prints one JSON line. Without it,
the environment runs in a child process (so the UI's event loop carries none of it) and
is stopped, with everything it started, when the app quits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from sre_tui.sandbox.backends import (
    ALERTMANAGER_NAMES,
    INSTALL_HINT,
    PROMETHEUS_NAMES,
    Service,
    find_binary,
    start_alertmanager,
    start_prometheus,
    wait_ready,
)
from sre_tui.sandbox.cluster import Cluster
from sre_tui.sandbox.faults import FaultPlan, PrometheusProxy, add_control_routes
from sre_tui.sandbox.flags import FlagStore, make_flags_app
from sre_tui.sandbox.interfaces import Clock, Scenario
from sre_tui.sandbox.kube_api import KubeServer, kubeconfig_yaml, serve_kube_api
from sre_tui.sandbox.policy import AccessPolicy
from sre_tui.sandbox.scenarios import build_scenario

REPO = Path(__file__).resolve().parent.parent.parent
DEMO_CONFIG_DIR = REPO / "config" / "demo"
EXAMPLE_CONFIG = REPO / "config" / "sre-tui.yaml"
FLAG_TOKEN_ENV = "SRE_TUI_DEMO_FLAG_TOKEN"
CONTEXT = "demo"
NAMESPACE = "production"


@dataclass
class DemoInfo:
    """What a user (or a test) needs to reach the demo; printed as one JSON line."""

    kubeconfig: str
    kube_api: str
    prometheus: str | None
    alertmanager: str | None
    flags: str
    metrics: str
    config: str
    flag_token_env: str
    flag_token: str
    workdir: str
    pid: int
    notes: list[str]
    prometheus_upstream: str | None = None  # Prometheus itself, not the fault proxy

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def _metrics_app(scenario: Scenario) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=scenario.metrics_text(), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app


def _sre_tui_config(info: dict[str, Any], runbooks: Path) -> dict[str, Any]:
    """The example config with the demo environment and kill switches aimed at the demo."""
    base = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    environment: dict[str, Any] = {
        "description": "Simulated production cluster on loopback (sre-tui demo)",
        "kubeconfig": info["kubeconfig"],
        "context": CONTEXT,
        "namespace": NAMESPACE,
        "production": True,
        "read_only": False,
        # Short rate windows so remediations show in Prometheus within a minute.
        "variables": {"rate_window": "1m"},
    }
    if info["prometheus"]:
        environment["prometheus_url"] = info["prometheus"]
    if info["alertmanager"]:
        environment["alertmanager_url"] = info["alertmanager"]
    switches = []
    for switch in base.get("kill_switches", []):
        if switch.get("kind") == "http":
            path = switch["url"].split("/api/", 1)[1]
            switch = {
                **switch,
                "url": f"{info['flags']}/api/{path}",
                "auth": f"env:{FLAG_TOKEN_ENV}",
            }
        switches.append(switch)
    return {
        **base,
        "default_environment": "demo",
        "runbook_dirs": [str(runbooks)],
        "environments": {"demo": environment},
        "kill_switches": switches,
    }


class DemoEnvironment:
    def __init__(
        self,
        *,
        speed: float = 1.0,
        scenarios: list[str] | None = None,
        policy: AccessPolicy | None = None,
        with_prometheus: bool = True,
    ) -> None:
        self.clock = Clock(speed)
        self.scenario_names = scenarios or ["timeout", "websocket"]
        self.policy = policy or AccessPolicy()
        self.with_prometheus = with_prometheus
        self.workdir = Path(tempfile.mkdtemp(prefix="sre-tui-demo-"))
        self.flags = FlagStore()
        self.kube_token = secrets.token_urlsafe(24)
        self.flag_token = secrets.token_urlsafe(24)
        self.runners: list[web.AppRunner] = []
        self.services: list[Service] = []
        self.cluster: Cluster | None = None
        self.kube: KubeServer | None = None
        self.info: DemoInfo | None = None
        self.faults = FaultPlan()

    async def start(self) -> DemoInfo:
        notes: list[str] = []
        scenario = build_scenario(self.scenario_names, self.flags, speed=self.clock.speed)
        self.cluster = Cluster(scenario, self.clock)
        await self.cluster.start()
        self.kube = await serve_kube_api(
            self.cluster, token=self.kube_token, policy=self.policy, faults=self.faults
        )
        flags_app = make_flags_app(self.flags, self.flag_token)
        add_control_routes(flags_app, self.faults)
        runner, flags_url = await _serve(flags_app)
        self.runners.append(runner)
        runner, metrics_url = await _serve(_metrics_app(scenario))
        self.runners.append(runner)

        kubeconfig = self.workdir / "kubeconfig"
        kubeconfig.write_text(kubeconfig_yaml(self.kube.url, self.kube_token, CONTEXT, NAMESPACE))
        kubeconfig.chmod(0o600)

        prometheus_url = alertmanager_url = upstream = None
        if self.with_prometheus:
            upstream, alertmanager_url = await asyncio.to_thread(
                self._start_backends, metrics_url.removeprefix("http://"), notes
            )
            self.faults.services = {s.name: s for s in self.services}
        if upstream:
            runner, prometheus_url = await _serve(PrometheusProxy(upstream, self.faults).app())
            self.runners.append(runner)
        info = {
            "kubeconfig": str(kubeconfig),
            "prometheus": prometheus_url,
            "alertmanager": alertmanager_url,
            "flags": flags_url,
        }
        config_path = self.workdir / "sre-tui.yaml"
        config = _sre_tui_config(info, REPO / "runbooks")
        config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        self.info = DemoInfo(
            kubeconfig=str(kubeconfig),
            kube_api=self.kube.url,
            prometheus=prometheus_url,
            alertmanager=alertmanager_url,
            flags=flags_url,
            metrics=f"{metrics_url}/metrics",
            config=str(config_path),
            flag_token_env=FLAG_TOKEN_ENV,
            flag_token=self.flag_token,
            workdir=str(self.workdir),
            pid=os.getpid(),
            notes=notes,
            prometheus_upstream=upstream,
        )
        return self.info

    def _start_backends(
        self, scrape_target: str, notes: list[str]
    ) -> tuple[str | None, str | None]:
        prometheus = find_binary(PROMETHEUS_NAMES)
        alertmanager = find_binary(ALERTMANAGER_NAMES)
        am_url = None
        if alertmanager:
            service = start_alertmanager(
                alertmanager, DEMO_CONFIG_DIR / "alertmanager.yml", self.workdir
            )
            self.services.append(service)
            wait_ready(service)
            am_url = service.url
        else:
            notes.append(f"Alertmanager is not installed: {INSTALL_HINT}")
        if not prometheus:
            notes.append(f"Prometheus is not installed: {INSTALL_HINT}")
            return None, am_url
        service = start_prometheus(
            prometheus,
            scrape_target=scrape_target,
            rule_files=[DEMO_CONFIG_DIR / "alert-rules.yml"],
            alertmanager=am_url,
            workdir=self.workdir,
        )
        self.services.append(service)
        wait_ready(service)
        return service.url, am_url

    async def stop(self) -> None:
        self.faults.clear()
        for service in self.services:
            await asyncio.to_thread(service.stop)
        for runner in self.runners:
            await runner.cleanup()
        if self.kube is not None:
            await self.kube.stop()
        if self.cluster is not None:
            await self.cluster.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def policy_from_args(read_only: bool, deny: list[str]) -> AccessPolicy:
    pairs = []
    for item in deny:
        verb, sep, resource = item.partition(":")
        if not sep or not verb or not resource:
            raise ValueError(f"--deny {item!r} is not VERB:RESOURCE (e.g. patch:deployments)")
        pairs.append((verb, resource))
    return AccessPolicy(read_only=read_only, deny=tuple(pairs))


async def _headless(env: DemoEnvironment, parent_pid: int | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        info = await env.start()
        print(info.to_json(), flush=True)
        for note in info.notes:
            print(f"note: {note}", file=sys.stderr, flush=True)
        while not stop.is_set():
            if parent_pid is not None and os.getppid() != parent_pid:
                break  # the app that started us is gone
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
    finally:
        await env.stop()


def run_headless(
    *,
    speed: float,
    scenarios: list[str] | None,
    policy: AccessPolicy,
    with_prometheus: bool,
    parent_pid: int | None = None,
) -> int:
    env = DemoEnvironment(
        speed=speed, scenarios=scenarios, policy=policy, with_prometheus=with_prometheus
    )
    asyncio.run(_headless(env, parent_pid))
    return 0


def start_child(
    extra_args: list[str], timeout: float = 90.0
) -> tuple[subprocess.Popen[str], DemoInfo]:
    """Start `sre-tui demo --headless` as a child and wait for its JSON line."""
    argv = [
        sys.executable,
        "-m",
        "sre_tui",
        "demo",
        "--headless",
        "--parent-pid",
        str(os.getpid()),
        *extra_args,
    ]
    # stderr to a file: a pipe nobody reads would eventually block the child.
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - lives as long as the child
    child = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=errors, text=True, stdin=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    assert child.stdout is not None
    line = ""
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if line.startswith("{") or child.poll() is not None:
            break
    if not line.startswith("{"):
        stop_child(child)
        errors.seek(0)
        err = errors.read()
        raise RuntimeError(f"the demo environment did not start: {err.strip()[-2000:]}")
    return child, DemoInfo(**json.loads(line))


def stop_child(child: subprocess.Popen[str], timeout: float = 15.0) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout)
