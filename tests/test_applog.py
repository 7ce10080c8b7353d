"""The app's own log: written under the state directory by the commands that open the UI,
bounded by rotation, failures logged when they start and end (not on every poll), crashes
kept with their traceback, and a resolved secret masked in every form even if logged."""

from __future__ import annotations

import base64
import logging
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from sre_tui import applog, commands
from sre_tui.backends.secrets import SecretResolver
from sre_tui.cli import main
from sre_tui.ui.app import create_app
from tests.uitools import wait_until

SECRET = "t0k/en+with:odd=chars&more"  # a test credential with characters URL-encoding changes


@pytest.fixture
def log_file(isolated_state: Path) -> Iterator[Path]:
    applog.unconfigure()
    yield applog.log_path(isolated_state)
    applog.unconfigure()


def test_ui_commands_start_the_log_and_others_do_not(log_file: Path, monkeypatch) -> None:
    monkeypatch.setattr(commands, "cmd_run", lambda args: 0)  # everything but the UI
    assert main(["incidents"]) == 0
    assert not log_file.exists()
    assert main(["run", "service-timeout", "--env", "staging"]) == 0
    text = log_file.read_text()
    assert "INFO sre_tui [MainThread] sre-tui run started" in text
    assert "environment staging" in text
    assert log_file.stat().st_mode & 0o077 == 0  # names hosts and users: owner only


def test_failures_are_logged_when_they_start_change_and_end(log_file: Path) -> None:
    applog.configure(log_file.parent.parent)
    for _ in range(5):  # a pane polling a dead backend
        applog.report("prometheus", "Prometheus at http://p:9090 unreachable", key="p95")
    applog.report("prometheus", "Prometheus at http://p:9090 answered 503", key="p95")
    applog.report("prometheus", None, key="p95")
    applog.report("prometheus", None, key="p95")
    lines = log_file.read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "WARNING sre_tui.prometheus [MainThread] prometheus p95: Prometheus at "
        "http://p:9090 unreachable",
        "WARNING sre_tui.prometheus [MainThread] prometheus p95: Prometheus at "
        "http://p:9090 answered 503",
        "INFO sre_tui.prometheus [MainThread] prometheus p95: working again",
    ]


def test_rotation_keeps_the_log_bounded(log_file: Path) -> None:
    applog.configure(log_file.parent.parent, max_bytes=4_000, backups=3)
    for n in range(2_000):
        applog.log.info("line %d %s", n, "x" * 60)
    files = sorted(log_file.parent.iterdir())
    assert [f.name for f in files] == [
        "sre-tui.log",
        "sre-tui.log.1",
        "sre-tui.log.2",
        "sre-tui.log.3",
    ]
    assert all(f.stat().st_size <= 4_000 for f in files)
    assert "line 1999 " in log_file.read_text()  # the newest is kept


def test_a_resolved_secret_is_masked_in_every_form(log_file: Path) -> None:
    applog.configure(log_file.parent.parent)
    assert SecretResolver({"FLAG_TOKEN": SECRET}).resolve("env:FLAG_TOKEN") == SECRET
    raw = SECRET.encode()
    forms = [
        SECRET,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        urllib.parse.quote(SECRET, safe=""),
        urllib.parse.quote_plus(SECRET),
    ]
    careless = logging.getLogger("sre_tui.careless")
    careless.warning("sent Authorization: Bearer %s", SECRET)  # as an argument
    careless.warning(f"basic auth header {base64.b64encode(raw).decode()}")  # in the message
    careless.warning("url https://h/api?token=%s", urllib.parse.quote_plus(SECRET))
    try:
        raise RuntimeError(f"server echoed {SECRET}")
    except RuntimeError:
        careless.exception("request failed")  # in a traceback
    text = log_file.read_text()
    for form in forms:
        assert form not in text, form
    assert text.count(applog.MASK) == 4  # the lines are there, with the secret masked
    assert "request failed" in text and "RuntimeError: server echoed <secret>" in text


async def test_a_crash_is_in_the_log_with_its_traceback(
    log_file: Path, workspace, capsys
) -> None:
    applog.configure(log_file.parent.parent)
    app = create_app(workspace)

    def boom() -> None:
        token = SECRET  # a local a crash must not print on the terminal  # noqa: F841
        raise ZeroDivisionError("a bug in a callback")

    with pytest.raises(ZeroDivisionError):
        async with app.run_test() as pilot:
            app.call_later(boom)
            await wait_until(pilot, lambda: app.return_code == 1, 5)
    text = log_file.read_text()
    assert "CRITICAL sre_tui.ui.app" in text and "unhandled error" in text
    assert "ZeroDivisionError: a bug in a callback" in text and "Traceback" in text
    # What Textual prints on the terminal once the screen is restored: the traceback,
    # without the local variables (a resolved credential would land in the scrollback).
    shown = capsys.readouterr().err
    assert "ZeroDivisionError" in shown and "a bug in a callback" in shown
    assert SECRET not in shown
