"""The real app, `sre-tui run service-timeout`, on the background sandbox (idle and load).

A configuration with one environment that reaches the simulated API (and Prometheus when
given), the command line and environment to start the app in a pty, and the keys that
bring its live panes up.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from sre_tui.bench.sandbox import CONTEXT, NAMESPACE
from sre_tui.bench.term import Terminal, bench_env, python

RUNBOOK = "service-timeout"
READY = "Check service health"  # the runbook's first step: the incident screen is up
PODS_MARKER = "watching"  # the pods pane's status once its watch runs
PODS_HEADER = "Restarts"  # a column of the pods table: drawn whenever the pane is shown
LOGS_MARKER = "all pods ("  # the logs pane's status, following every pod of the target


def app_config(workdir: Path, kubeconfig: Path, prometheus: str | None, description: str) -> Path:
    from sre_tui.sandbox.demo import EXAMPLE_CONFIG, REPO

    base = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    environment = {
        "description": description,
        "kubeconfig": str(kubeconfig),
        "context": CONTEXT,
        "namespace": NAMESPACE,
        "production": False,
    }
    if prometheus:
        environment["prometheus_url"] = prometheus
    config = {
        **base,
        "default_environment": "bench",
        "runbook_dirs": [str(REPO / "runbooks")],
        "environments": {"bench": environment},
    }
    path = workdir / "sre-tui.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


def app_argv(config: Path, deployment: str) -> list[str]:
    var = f"deployment={deployment}"
    return python("-m", "sre_tui", "--config", str(config), "run", RUNBOOK, "--var", var)


def app_env(workdir: Path) -> dict[str, str]:
    """An incident store of its own: no earlier incident to resume or list."""
    return bench_env(SRE_TUI_STATE_DIR=str(workdir / "state"))


def open_panes(term: Terminal, pods: int, timeout: float = 30.0) -> list[str]:
    """Wait for the incident screen, show the pods pane until it watches, then the logs
    pane until it follows all `pods`. Returns warnings for what did not show."""
    term.expect(READY, timeout=60)
    warnings = []
    if term.key_latency("p", PODS_MARKER, timeout) is None:
        warnings.append("the pods pane never said it was watching")
    if term.key_latency("l", f"{LOGS_MARKER}{pods})", timeout) is None:
        warnings.append(f"the logs pane never showed its {pods} pods")
    return warnings
