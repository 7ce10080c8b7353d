"""SIGKILL between an action's intent and its outcome: the audit log and the resumed
incident both say the outcome is unknown, instead of pretending nothing happened."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pexpect
import pytest
import yaml

from sre_tui.backends.audit import AuditLog
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.cli import main
from tests.ptytools import app_env, spawn_app

pytestmark = pytest.mark.pty

RUNBOOK = """\
id: slow-diagnostic
title: Slow diagnostic
severity: SEV3
sections:
  - id: triage
    kind: triage
    title: Triage
    steps:
      - id: wait
        title: Wait for the dependency
        command: sleep 30
        read_only: true
"""


def test_sigkill_mid_action_leaves_outcome_unknown(isolated_state: Path, tmp_path, capsys) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "slow-diagnostic.yaml").write_text(RUNBOOK)
    config = tmp_path / "sre-tui.yaml"
    config.write_text(yaml.safe_dump({"runbook_dirs": [str(runbooks)]}))
    env = app_env(isolated_state, SRE_TUI_CONFIG=str(config))
    child = spawn_app(["run", "slow-diagnostic"], env)
    audit = AuditLog(isolated_state / "audit.jsonl")
    try:
        child.expect("Wait for the dependency")
        child.send("x")
        child.expect("Esc stops it")  # the output pane is up: the intent is on disk
        assert audit.path.exists()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)

    [entry] = audit.entries()
    assert entry.state == "outcome unknown"
    assert main(["audit"]) == 0
    assert "OUTCOME UNKNOWN" in capsys.readouterr().out

    store = IncidentStore(isolated_state)
    [incident_id] = store.ids()
    incident = store.load(incident_id).incident
    assert [r.state for r in incident.actions.values()] == ["outcome unknown"]

    child = spawn_app(["resume"], env)
    try:
        child.expect("Action outcome unknown")
        child.sendcontrol("q")
        child.expect(pexpect.EOF)
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
