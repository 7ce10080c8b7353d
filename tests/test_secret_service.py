"""Secrets end to end, with a real Secret Service: gnome-keyring on a private D-Bus session.

`sre-tui auth set` (a separate process) stores the webhook token and the Prometheus
credentials in that keyring; the app then reads metrics from a Prometheus behind its own
basic auth and applies an http action against the demo flag service, both with credentials
from the keyring; the post-mortem is exported and a screenshot taken. Afterwards no file
under the state directory (journal, audit log, app log), the export or the screenshot holds
either secret, plain, base64 or URL-encoded.

Without dbus-daemon or gnome-keyring-daemon the test is skipped, and fails under CI
(`make backends` installs them)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import keyring
import keyring.core
import pytest

from sre_tui import applog
from sre_tui.backends.config_files import LoadedConfig
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.backends.secrets import SERVICE, backend_name, keyring_problem
from sre_tui.cli import main
from sre_tui.core.config import Config
from sre_tui.sandbox.flags import FlagStore, start_flags_server
from sre_tui.ui.app import create_app
from sre_tui.ui.dialogs.action_confirm import ActionConfirm
from sre_tui.ui.screens.incident import IncidentScreen
from sre_tui.ui.widgets.checklist import Checklist
from sre_tui.ui.widgets.metrics_pane import MetricsPane
from sre_tui.workspace import Workspace
from tests.realbackends import AuthedPrometheus, leaks, require, secret_forms
from tests.uitools import screen_text, wait_until

REPO = Path(__file__).resolve().parent.parent
HINT = "apt-get install gnome-keyring dbus; make backends does it"
# Characters that base64 and URL-encoding both change; random so no file holds it by chance.
TOKEN = f"flag/{secrets.token_urlsafe(12)}+k=v"
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
RUNBOOK = """\
id: secrets-drill
title: Secrets drill
severity: SEV3
queries:
  - {{id: up, title: targets up, promql: "up", warn: 0.5, direction: below}}
actions:
  - {{id: disable-ai, kind: http, title: Disable AI features, method: PUT,
     url: "{flags}/api/flags/ai_enabled", body: {{enabled: false}},
     auth: "keyring:flag-token", read: {{field: enabled}}, revert: {{body: {{enabled: true}}}}}}
sections:
  - id: triage
    kind: triage
    title: Triage
    steps:
      - {{id: look, title: Look at the targets, focus: {{pane: metrics, query: up}}}}
      - {{id: kill, title: Disable AI features, action: disable-ai}}
"""


@dataclass(frozen=True)
class SecretService:
    env: dict[str, str]  # for child processes: the private bus, a throw-away HOME


@pytest.fixture
def secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretService]:
    """gnome-keyring's Secret Service, unlocked, on a private D-Bus session bus that
    activates nothing else (no service directories); this process's keyring uses it."""
    dbus = require(("dbus-daemon",), HINT)
    daemon = require(("gnome-keyring-daemon",), HINT)
    # Short: unix socket paths are limited to ~108 bytes, pytest's tmp_path can be longer.
    run = Path(tempfile.mkdtemp(prefix="sre-tui-bus-"))
    (run / "bus.conf").write_text(BUS_CONFIG.format(dir=run))
    started = subprocess.run(
        [dbus, f"--config-file={run / 'bus.conf'}", "--fork", "--print-address=1", "--print-pid=1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    address, bus_pid = started.stdout.split("\n")[:2]
    home = tmp_path / "keyring-home"
    env = {
        **os.environ,
        "DBUS_SESSION_BUS_ADDRESS": address,
        "HOME": str(home),  # gnome-keyring keeps its files there, never in the real one
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),  # no user keyringrc.cfg picks a backend
        "XDG_RUNTIME_DIR": str(run),
        "PYTHONPATH": str(REPO),
    }
    env.pop("PYTHON_KEYRING_BACKEND", None)
    keyring_daemon = subprocess.Popen(
        [daemon, "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert keyring_daemon.stdin is not None
    keyring_daemon.stdin.write(secrets.token_hex(8).encode())  # the keyring's password
    keyring_daemon.stdin.close()
    try:
        for name in ("DBUS_SESSION_BUS_ADDRESS", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
            monkeypatch.setenv(name, env[name])
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        from keyring.backends import SecretService as backend

        # keyring detects its backend once per process (and caches which ones are viable),
        # so this process is pointed at the Secret Service; `sre-tui auth set` runs in its
        # own process and detects it as a user's would. Restored afterwards.
        monkeypatch.setattr(keyring.core, "_keyring_backend", backend.Keyring())
        deadline = time.monotonic() + 10
        while True:  # until the daemon owns its bus name and the collection is unlocked
            try:
                backend.Keyring().get_password(SERVICE, "probe")
                break
            except Exception:
                if time.monotonic() > deadline or keyring_daemon.poll() is not None:
                    raise
                time.sleep(0.05)
        yield SecretService(env)
    finally:
        keyring_daemon.terminate()
        keyring_daemon.wait(10)
        os.kill(int(bus_pid), signal.SIGTERM)
        shutil.rmtree(run, ignore_errors=True)


@dataclass(frozen=True)
class Flags:
    url: str
    store: FlagStore


@pytest.fixture
def flag_service() -> Iterator[Flags]:
    """The demo's flag service on a loopback port, requiring TOKEN."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    store = FlagStore()
    runner, url = asyncio.run_coroutine_threadsafe(start_flags_server(store, TOKEN), loop).result(
        10
    )
    try:
        yield Flags(url, store)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def auth_set(service: SecretService, name: str, value: str) -> str:
    """`sre-tui auth set NAME` in its own process, the value on stdin."""
    done = subprocess.run(
        [sys.executable, "-m", "sre_tui", "auth", "set", name],
        input=value,
        capture_output=True,
        text=True,
        env=service.env,
        cwd=REPO,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def workspace_for(tmp_path: Path, state: Path, prometheus: str, flags: str) -> Workspace:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "secrets-drill.yaml").write_text(RUNBOOK.format(flags=flags))
    config = Config.model_validate(
        {
            "environments": {
                "lab": {
                    "prometheus_url": prometheus,
                    "prometheus_auth": "keyring:prom",
                    "namespace": "default",
                }
            },
            "runbook_dirs": [str(runbooks)],
            "refresh": {"metrics_seconds": 1},
        }
    )
    loaded = LoadedConfig(config, tmp_path / "sre-tui.yaml")
    return Workspace.open(loaded, "lab", store=IncidentStore(state))


async def test_no_secret_anywhere_after_an_incident_with_a_real_keyring(
    secret_service: SecretService,
    authed_prometheus: AuthedPrometheus,
    flag_service: Flags,
    isolated_state: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    said = auth_set(secret_service, "flag-token", TOKEN)
    said += auth_set(secret_service, "prom", authed_prometheus.credentials)
    assert "stored keyring:flag-token in the keyring (SecretService Keyring)" in said
    # This process reads what the other one stored, from the real Secret Service.
    assert keyring_problem() is None and backend_name() == "SecretService Keyring"
    assert keyring.get_password(SERVICE, "flag-token") == TOKEN
    # The flag service does require the token: without it nothing changes.
    refused = httpx.put(f"{flag_service.url}/api/flags/ai_enabled", json={"enabled": False})
    assert refused.status_code == 401 and flag_service.store.flag("ai_enabled") is True

    applog.unconfigure()
    applog.configure(isolated_state)  # as the CLI does for the commands that open the UI
    out = tmp_path / "out"
    out.mkdir()
    workspace = workspace_for(tmp_path, isolated_state, authed_prometheus.url, flag_service.url)
    active = workspace.start(workspace.find_runbook("secrets-drill"))
    app = create_app(workspace, active)
    try:
        async with app.run_test(size=(140, 44)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen), 10)
            screen = app.screen
            metrics = screen.query_one(MetricsPane)
            # (a) metrics, with the keyring's Prometheus credentials (its first scrape
            # lands within ~6 s)
            await wait_until(pilot, lambda: metrics.current("up") is not None, 20)
            await pilot.press("space")
            await pilot.press("n", *"prometheus answers with keyring credentials", "enter")
            await wait_until(pilot, lambda: len(screen.incident.notes) == 1, 5)

            # (b) the http action, its Authorization from keyring:flag-token
            await wait_until(pilot, lambda: screen.gate is not None, 10)
            checklist = screen.query_one(Checklist)
            checklist.highlighted = checklist.get_option_index("kill")
            checklist.focus()
            await pilot.press("a")  # an http action asks for no value: straight to confirm
            await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 10)
            assert "<secret keyring:flag-token>" in screen_text(app)
            await pilot.press("y")  # not production: `y` confirms
            await wait_until(pilot, lambda: flag_service.store.flag("ai_enabled") is False, 10)
            await wait_until(
                pilot,
                lambda: any(r.state == "applied" for r in screen.incident.actions.values()),
                10,
            )
            # (d) a screenshot of the incident with the action on it
            await wait_until(pilot, lambda: "Action done" in screen_text(app), 10)
            shot = Path(app.save_screenshot("incident.svg", str(out)))
    finally:
        applog.unconfigure()
    [change] = flag_service.store.history  # the server took exactly the one write
    assert (change.name, change.before, change.after) == ("ai_enabled", True, False)

    # (c) the post-mortem, as `sre-tui export` writes it
    export = out / "postmortem.md"
    assert main(["export", active.incident.id, "-o", str(export)]) == 0
    assert "Disable AI features" in export.read_text()

    audit = workspace.audit_path
    log = applog.log_path(isolated_state)
    state_files = [p for p in isolated_state.rglob("*") if p.is_file()]
    journal = isolated_state / "incidents" / active.incident.id / "events.jsonl"
    assert {audit, log, journal} <= set(state_files)
    assert "PUT " in log.read_text() and "done" in log.read_text()  # the action is logged
    forms = secret_forms(TOKEN, authed_prometheus.password, authed_prometheus.credentials)
    assert leaks([*state_files, export, shot], forms) == []
    printed = capsys.readouterr()
    assert not [f for f in forms if f.decode() in printed.out + printed.err + said]
