"""The SSH connection drops: the pty closes under the running app (SIGHUP, then a dead
terminal). The app must exit by itself within seconds, with every tick on disk, and leave
no process spinning on the dead terminal; `sre-tui resume` picks the incident up."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pexpect
import pytest

from sre_tui.backends.incident_store import IncidentStore
from tests.ptytools import app_env, app_session, spawn_app

pytestmark = pytest.mark.pty


def spawn(args: list[str], state: Path) -> pexpect.spawn:
    return spawn_app(args, app_env(state))


def exit_status(pid: int, seconds: float) -> int | None:
    """The child's wait status once it is gone, or None if it still runs after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    return None


def hang_up_after_a_tick(state: Path) -> tuple[int, float]:
    child = spawn(["run", "service-timeout", "--var", "deployment=checkout"], state)
    try:
        child.expect("Check service health")
        child.send(" ")
        child.expect(r"\[x\]")
        started = time.monotonic()
        # What sshd does when the connection drops: close the pty's master side. The
        # kernel hangs the terminal up and sends SIGHUP to the session leader (the app).
        # (pexpect's close() would also send SIGINT 0.1 s later, before a clean exit.)
        os.close(child.child_fd)
    except BaseException:
        child.kill(signal.SIGKILL)
        raise
    return child.pid, started


def assert_gone_with_tick(pid: int, started: float, state: Path) -> int:
    try:
        status = exit_status(pid, 20)
        assert status is not None, "the app kept running on a dead terminal"
        assert time.monotonic() - started < 20
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    store = IncidentStore(state)
    [incident_id] = store.ids()
    assert "check-health" in store.load(incident_id).incident.ticks
    return status


def test_hangup_exits_cleanly_with_the_tick_on_disk(isolated_state: Path) -> None:
    pid, started = hang_up_after_a_tick(isolated_state)
    status = assert_gone_with_tick(pid, started, isolated_state)
    # It exited by itself (not killed by the signal's default action), with 128 + SIGHUP.
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 129, status

    with app_session(["resume"], app_env(isolated_state)) as resumed:
        resumed.until(r"\[x\]")
        resumed.child.sendcontrol("q")
        resumed.until(pexpect.EOF)


def test_stop_and_continue_on_a_live_terminal_still_resumes(isolated_state: Path) -> None:
    """The guard against the hang-up's SIGCONT must leave `kill -STOP`/`fg` alone."""
    child = spawn(["run", "service-timeout", "--var", "deployment=checkout"], isolated_state)
    try:
        child.expect("Check service health")
        os.kill(child.pid, signal.SIGTSTP)  # Textual leaves application mode and stops
        child.expect(r"\x1b\[\?1049l")  # the alternate screen is left …
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] != "T":
            assert time.monotonic() < deadline, "the app did not stop"
            time.sleep(0.02)  # … then it stops itself: continue it only once stopped
        os.kill(child.pid, signal.SIGCONT)
        child.expect(r"\x1b\[\?1049h")  # … and entered again on continue
        child.expect("Check service health")  # redrawn
        child.send("n")  # and the app takes keys again
        child.expect("Add a note")
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
