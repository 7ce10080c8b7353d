"""A real Prometheus behind basic auth (its own --web.config.file): the app reads metrics
with credentials from the environment, and after a scripted incident the secret is in no
file it wrote — not in any form (plain, base64, URL-encoded)."""

from __future__ import annotations

import base64
import os
import subprocess
import time
import urllib.parse
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from sre_tui.backends.config_files import LoadedConfig
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.backends.prometheus import PrometheusBackend, PrometheusError
from sre_tui.cli import main
from sre_tui.core.config import Config
from sre_tui.sandbox.backends import PROMETHEUS_NAMES, find_binary, free_port
from sre_tui.ui.app import create_app
from sre_tui.ui.screens.incident import IncidentScreen
from sre_tui.ui.widgets.metrics_pane import MetricsPane
from sre_tui.workspace import Workspace, connect
from tests.uitools import screen_text, wait_until

USER = "sre"
PASSWORD = "s3cr3t-Pr0m-p@ss/with:colon"  # a test credential
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


@pytest.fixture
def authed_prometheus(tmp_path: Path) -> Iterator[str]:
    binary = find_binary(PROMETHEUS_NAMES)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Prometheus is not installed, and CI must have it")
        pytest.skip("Prometheus not installed (make backends installs it)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # bcrypt, as Prometheus' web config wants it, from the system's libcrypt

        hashed = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH))
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {USER: hashed}}))
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "self",
                        "basic_auth": {"username": USER, "password": PASSWORD},
                        "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
                    }
                ],
            }
        )
    )
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--web.config.file={web}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/-/ready", auth=(USER, PASSWORD), timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


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


def test_credentials_are_required_and_used(authed_prometheus: str, tmp_path, monkeypatch) -> None:
    with pytest.raises(PrometheusError, match="401"):
        PrometheusBackend(authed_prometheus).instant("up")
    monkeypatch.setenv("PROM_CREDENTIALS", f"{USER}:{PASSWORD}")
    live = connect(workspace_for(authed_prometheus, tmp_path, "env:PROM_CREDENTIALS").environment)
    assert live.prometheus is not None
    deadline = time.monotonic() + 20
    while not live.prometheus.instant("up") and time.monotonic() < deadline:
        time.sleep(0.3)  # the first scrape lands within a second or two
    assert live.prometheus.instant("up")  # answered with the credentials
    monkeypatch.delenv("PROM_CREDENTIALS")
    live = connect(workspace_for(authed_prometheus, tmp_path, "env:PROM_CREDENTIALS").environment)
    assert live.prometheus is None and "PROM_CREDENTIALS" in (live.prometheus_reason or "")


async def test_no_secret_in_any_file_after_an_incident(
    authed_prometheus: str, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("PROM_CREDENTIALS", f"{USER}:{PASSWORD}")
    monkeypatch.setenv("SRE_TUI_STATE_DIR", str(tmp_path / "state"))
    workspace = workspace_for(authed_prometheus, tmp_path, "env:PROM_CREDENTIALS")
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

    secrets = [PASSWORD, f"{USER}:{PASSWORD}"]
    forms = set()
    for secret in secrets:
        raw = secret.encode()
        forms |= {
            raw,
            base64.b64encode(raw),
            base64.urlsafe_b64encode(raw),
            urllib.parse.quote(secret).encode(),
            urllib.parse.quote_plus(secret).encode(),
        }
    files = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    assert len(files) >= 4  # events, runbook snapshot, screenshot, export
    for path in files:
        data = path.read_bytes()
        for form in forms:
            assert form not in data, f"{path} holds the secret ({form!r})"
    out = capsys.readouterr()
    for form in forms:
        assert form.decode() not in out.out + out.err
