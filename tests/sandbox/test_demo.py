"""`sre-tui demo`: the whole environment over real HTTP, real Prometheus and Alertmanager."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from sre_tui.sandbox.backends import ALERTMANAGER_NAMES, PROMETHEUS_NAMES, find_binary

HAVE_BACKENDS = bool(find_binary(PROMETHEUS_NAMES) and find_binary(ALERTMANAGER_NAMES))


def require_backends() -> None:
    if HAVE_BACKENDS:
        return
    if os.environ.get("CI"):
        pytest.fail("Prometheus/Alertmanager are not installed, and CI must have them")
    pytest.skip("Prometheus/Alertmanager not installed (make backends installs them)")


def demo_processes(ignore: Iterable[str] = ()) -> list[str]:
    """ "pid args" of processes a demo started (they all run inside its workdir), but for
    `ignore`: the demos other tests (other pytest workers) run meanwhile."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    lines = [raw.strip() for raw in out.splitlines()]
    skip = set(ignore)
    return [
        line
        for line in lines
        if line not in skip
        and ("sre-tui-demo-" in line or "sre_tui demo --headless" in line)
        and "ps -eo" not in line
    ]


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except Exception as exc:  # the service may not be up yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise AssertionError(f"{what} not seen within {timeout}s (last: {last!r})")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def prom_value(prometheus: str, query: str) -> float | None:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    result = get_json(url)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


@pytest.fixture
def headless_demo(tmp_path: Path) -> Iterator[dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sre_tui", "demo", "--headless", "--speed", "10"],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "demo.err").open("w"),
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("{"), (tmp_path / "demo.err").read_text()
    info = json.loads(line)
    info["process"] = proc
    try:
        yield info
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(20)


def test_headless_demo_serves_kubectl_and_stops_clean(headless_demo) -> None:
    info = headless_demo
    for key in ("kubeconfig", "kube_api", "flags", "metrics", "config"):
        assert info[key], key
    assert Path(info["kubeconfig"]).is_file() and Path(info["config"]).is_file()
    if shutil.which("kubectl"):
        out = wait_for(
            lambda: (
                subprocess.run(
                    ["kubectl", "--kubeconfig", info["kubeconfig"], "get", "pods", "-A"],
                    capture_output=True,
                    text=True,
                    timeout=20,
                ).stdout
            ),
            20,
            "pods in kubectl get pods -A",
        )
        assert "checkout-" in out and "realtime-" in out
    metrics = urllib.request.urlopen(info["metrics"], timeout=5).read().decode()
    assert "service_latency_histogram_bucket" in metrics

    proc = info["process"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    assert not Path(info["workdir"]).exists()
    # Its own processes only: other pytest workers run demos of their own meanwhile.
    assert [line for line in demo_processes() if info["workdir"] in line] == []


def test_timeout_scenario_fires_and_scale_up_fixes_it(headless_demo) -> None:
    require_backends()
    info = headless_demo
    prometheus, alertmanager = info["prometheus"], info["alertmanager"]
    assert prometheus and alertmanager

    def firing() -> list[dict[str, Any]]:
        alerts = get_json(f"{alertmanager}/api/v2/alerts")
        return [a for a in alerts if a["labels"].get("alertname") == "ServiceTimeouts"]

    [alert] = wait_for(firing, 60, "ServiceTimeouts in Alertmanager")
    assert alert["annotations"]["runbook_url"].endswith("/service-timeout")
    assert alert["labels"]["deployment"] == "checkout"

    p95 = (
        "histogram_quantile(0.95, sum by (le) (rate(service_latency_histogram_bucket"
        '{namespace="production", deployment="checkout"}[10s])))'
    )
    assert wait_for(lambda: (prom_value(prometheus, p95) or 0) > 0.5, 30, "p95 above 0.5 s")

    from kubernetes import client, config

    api = config.new_client_from_config(config_file=info["kubeconfig"])
    apps = client.AppsV1Api(api)
    apps.patch_namespaced_deployment_scale("checkout", "production", {"spec": {"replicas": 3}})
    wait_for(
        lambda: (
            (apps.read_namespaced_deployment("checkout", "production").status.ready_replicas or 0)
            >= 3
        ),
        30,
        "3 ready checkout pods",
    )
    value = wait_for(
        lambda: (v := prom_value(prometheus, p95)) is not None and v < 0.5 and v,
        60,
        "p95 below 0.5 s after the scale-up",
    )
    assert value < 0.5


@pytest.mark.pty
def test_demo_with_ui_quits_and_leaves_nothing_behind(isolated_state: Path) -> None:
    env = {**os.environ, "TERM": "xterm-256color"}
    others = demo_processes()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sre_tui", "demo", "--speed", "5"],
        env=env,
        dimensions=(30, 100),
        timeout=60,
    )
    try:
        child.expect("env demo")  # the app is up against the demo environment
        child.expect("runbooks")
        assert demo_processes(ignore=others), "the demo environment should be running"
        child.sendcontrol("q")
        child.expect(pexpect.EOF)
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
    wait_for(lambda: demo_processes(ignore=others) == [], 20, "no demo processes left")


def test_raising_the_timeout_fixes_it_and_rollback_brings_it_back(headless_demo) -> None:
    require_backends()
    if not shutil.which("kubectl"):
        if os.environ.get("CI"):
            pytest.fail("kubectl is not installed, and CI must have it")
        pytest.skip("kubectl not installed")
    info = headless_demo
    prometheus = info["prometheus"]
    p95 = (
        "histogram_quantile(0.95, sum by (le) (rate(service_latency_histogram_bucket"
        '{namespace="production", deployment="checkout"}[10s])))'
    )
    wait_for(lambda: (prom_value(prometheus, p95) or 0) > 0.5, 40, "p95 above 0.5 s")

    kubectl = ["kubectl", "--kubeconfig", info["kubeconfig"], "-n", "production"]
    subprocess.run(
        [*kubectl, "set", "env", "deployment/checkout", "TIMEOUT_THRESHOLD_MS=10000"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    subprocess.run(
        [*kubectl, "rollout", "status", "deployment/checkout", "--timeout=60s"],
        check=True,
        capture_output=True,
        timeout=70,
    )
    wait_for(
        lambda: (v := prom_value(prometheus, p95)) is not None and v < 0.5,
        60,
        "p95 below 0.5 s with TIMEOUT_THRESHOLD_MS=10000",
    )
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(config_file=info["kubeconfig"]))
    [pod] = [
        p
        for p in core.list_namespaced_pod("production", label_selector="app=checkout").items
        if p.metadata.deletion_timestamp is None
    ]
    env = {e.name: e.value for e in pod.spec.containers[0].env}
    assert env["TIMEOUT_THRESHOLD_MS"] == "10000"
    recent = core.read_namespaced_pod_log(pod.metadata.name, "production", tail_lines=40)
    assert "upstream timeout after 5000ms" not in recent

    subprocess.run(
        [*kubectl, "rollout", "undo", "deployment/checkout"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    wait_for(
        lambda: (prom_value(prometheus, p95) or 0) > 0.5,
        60,
        "p95 above 0.5 s again after the rollback",
    )
