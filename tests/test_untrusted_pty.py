"""Untrusted text on a real pseudo-terminal: runbook text and typed notes carrying escape
sequences, control characters, markup, click actions, bidi overrides and a 100k-char line
never reach the terminal as anything but inert characters, and the app keeps working.

Checked on the bytes the app writes to the pty. Every hostile sequence carries a tag, so
the drawing sequences Textual emits itself are never mistaken for a leak."""

from __future__ import annotations

from pathlib import Path

import pexpect
import pytest
import yaml

from tests.ptytools import TAG, app_env, app_session, assert_inert, payload

pytestmark = pytest.mark.pty


def hostile_runbook() -> dict:
    return {
        "id": "hostile",
        "title": payload("rbtitle"),
        "severity": "SEV3",
        # Values with control characters are refused when the incident starts (its own
        # test); markup and bidi overrides are not.
        "variables": {"deployment": {"default": f"{TAG}var [bold]v[/] \u202eRLO{TAG}var"}},
        "sections": [
            {
                "id": "triage",
                "kind": "triage",
                "title": payload("section"),
                "steps": [
                    {
                        "id": "first",
                        "title": "SAFE-FIRST " + payload("steptitle"),
                        "text": payload("steptext") + " {{ deployment }} " + "W" * 100_000,
                        "command": "echo " + payload("command"),
                        "read_only": True,
                    },
                    {"id": "second", "title": "SAFE-SECOND step"},
                ],
            }
        ],
    }


def test_hostile_runbook_and_notes_are_inert_on_a_real_terminal(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    # Dumped as YAML, whose double-quoted escapes carry every control character.
    (runbooks / "hostile.yaml").write_text(yaml.safe_dump(hostile_runbook(), width=10**9))
    config = tmp_path / "sre-tui.yaml"
    config.write_text(yaml.safe_dump({"runbook_dirs": [str(runbooks)]}))
    env = app_env(tmp_path / "state", SRE_TUI_CONFIG=str(config))
    with app_session(["run", "hostile"], env, rows=50, cols=200) as app:
        app.until("SAFE-FIRST")
        note = f"{TAG}note [bold]b[/] [@click=app.quit]q[/] \u202eRLO{TAG}note end"
        app.send("n")
        app.until("Add a note")
        app.send(note)
        app.send("\r")
        app.until(f"{TAG}note end")
        app.send("\x1b[B")  # the app still takes keys: move to the next step and tick it
        app.send(" ")
        app.until(r"\[x\]")
        app.send("x")  # nothing: the second step has no command …
        app.send("\x1b[A")
        app.send("x")  # … the first runs its hostile echo, inert in the output dialog
        app.until("Esc closes")
        app.drain(2)
        app.child.sendcontrol("q")  # quits from anywhere, the output dialog included
        app.until(pexpect.EOF)

    text = assert_inert(bytes(app.seen))
    # Markup and click actions are shown as the text they are, never interpreted.
    assert "[@click=app.quit]q" in text
    assert "[bold red]mk" in text
    assert f"{TAG}note" in text
