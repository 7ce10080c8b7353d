"""The real app in a real pseudo-terminal, killed with SIGKILL the moment a tick shows."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pexpect
import pytest

from sre_tui.backends.incident_store import IncidentStore
from sre_tui.cli import main
from tests.ptytools import app_env, app_session, spawn_app

pytestmark = pytest.mark.pty


def spawn(args: list[str], state: Path) -> pexpect.spawn:
    return spawn_app(args, app_env(state, COLUMNS="100", LINES="30"))


def test_tick_survives_sigkill_on_first_frame_showing_it(isolated_state: Path, capsys) -> None:
    child = spawn(["run", "service-timeout", "--var", "deployment=checkout"], isolated_state)
    try:
        child.expect("Check service health")  # the first frame is up
        child.send(" ")
        child.expect(r"\[x\]")  # the first frame that shows the tick …
        os.kill(child.pid, signal.SIGKILL)  # … and not a moment longer
        child.wait()
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
    store = IncidentStore(isolated_state)
    [incident_id] = store.ids()
    stored = store.load(incident_id)
    assert "check-health" in stored.incident.ticks
    assert stored.incident.variables["deployment"] == "checkout"

    # `sre-tui incidents` lists it with its progress; `resume` opens it with the tick.
    assert main(["incidents"]) == 0
    listing = capsys.readouterr().out
    assert incident_id in listing and "investigating" in listing and "1/14" in listing

    with app_session(["resume"], app_env(isolated_state, COLUMNS="100", LINES="30")) as resumed:
        resumed.until(incident_id)
        resumed.until(r"\[x\]")
        resumed.child.sendcontrol("q")
        resumed.until(pexpect.EOF)
