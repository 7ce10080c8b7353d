"""A real Prometheus behind basic auth (its own --web.config.file): the app reads metrics
with credentials from the environment, and after a scripted incident the secret is in no
file it wrote — not in any form (plain, base64, URL-encoded)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sre_tui.backends.config_files import LoadedConfig
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.backends.prometheus import PrometheusBackend, PrometheusError
from sre_tui.cli import main
from sre_tui.core.config import Config
from sre_tui.ui.app import create_app
from sre_tui.ui.screens.incident import IncidentScreen
from sre_tui.ui.widgets.metrics_pane import MetricsPane
from sre_tui.workspace import Workspace, connect
from tests.realbackends import AuthedPrometheus, leaks, secret_forms
from tests.uitools import screen_text, wait_until

RUNBOOK = """\
id: prom-up
title: Prometheus is up
severity: SEV3
queries:
  - {id: up, title: targets up, promql: "up", warn: 0.5, direction: below}
sections:
  - id: triage
    kind: triage
    title: Triage
    steps:
      - {id: look, title: Look at the targets, focus: {pane: metrics, query: up}}
"""


def workspace_for(url: str, tmp_path: Path, auth: str | None) -> Workspace:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir(exist_ok=True)
    (runbooks / "prom-up.yaml").write_text(RUNBOOK)
    environment = {"prometheus_url": url, "namespace": "default"}
    if auth:
        environment["prometheus_auth"] = auth
    config = Config.model_validate(
        {
            "environments": {"lab": environment},
            "runbook_dirs": [str(runbooks)],
            "refresh": {"metrics_seconds": 1},
        }
    )
    loaded = LoadedConfig(config, tmp_path / "sre-tui.yaml")
    return Workspace.open(loaded, "lab", store=IncidentStore(tmp_path / "state"))


def test_credentials_are_required_and_used(
    authed_prometheus: AuthedPrometheus, tmp_path, monkeypatch
) -> None:
    url = authed_prometheus.url
    with pytest.raises(PrometheusError, match="401"):
        PrometheusBackend(url).instant("up")
    monkeypatch.setenv("PROM_CREDENTIALS", authed_prometheus.credentials)
    live = connect(workspace_for(url, tmp_path, "env:PROM_CREDENTIALS").environment)
    assert live.prometheus is not None
    deadline = time.monotonic() + 20
    while not live.prometheus.instant("up") and time.monotonic() < deadline:
        time.sleep(0.3)  # the first scrape lands within a second or two
    assert live.prometheus.instant("up")  # answered with the credentials
    monkeypatch.delenv("PROM_CREDENTIALS")
    live = connect(workspace_for(url, tmp_path, "env:PROM_CREDENTIALS").environment)
    assert live.prometheus is None and "PROM_CREDENTIALS" in (live.prometheus_reason or "")


async def test_no_secret_in_any_file_after_an_incident(
    authed_prometheus: AuthedPrometheus, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("PROM_CREDENTIALS", authed_prometheus.credentials)
    monkeypatch.setenv("SRE_TUI_STATE_DIR", str(tmp_path / "state"))
    workspace = workspace_for(authed_prometheus.url, tmp_path, "env:PROM_CREDENTIALS")
    active = workspace.start(workspace.find_runbook("prom-up"))
    app = create_app(workspace, active)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen), 10)
        metrics = app.screen.query_one(MetricsPane)
        await wait_until(pilot, lambda: metrics.current("up") is not None, 30)
        await pilot.press("space")  # tick, with the metric as evidence
        await pilot.press("n", *"checked prometheus", "enter")
        await wait_until(pilot, lambda: len(app.screen.incident.notes) == 1, 5)
        assert "targets up" in screen_text(app)
        app.save_screenshot("incident.svg", str(tmp_path / "state"))
    assert main(["export", active.incident.id, "-o", str(tmp_path / "state" / "pm.md")]) == 0

    forms = secret_forms(authed_prometheus.password, authed_prometheus.credentials)
    files = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    assert len(files) >= 4  # events, runbook snapshot, screenshot, export
    assert leaks(files, forms) == []
    out = capsys.readouterr()
    for form in forms:
        assert form.decode() not in out.out + out.err
