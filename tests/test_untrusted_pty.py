"""Untrusted text on a real pseudo-terminal: runbook text and typed notes carrying escape
sequences, control characters, markup, click actions, bidi overrides and a 100k-char line
never reach the terminal as anything but inert characters, and the app keeps working.

Checked on the bytes the app writes to the pty. Every hostile sequence carries a tag, so
the drawing sequences Textual emits itself are never mistaken for a leak."""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

pytestmark = pytest.mark.pty

TAG = "QZX"


def payload(tag: str) -> str:
    return (
        f"{TAG}{tag} [bold red]mk{tag}[/] [@click=app.quit]q{tag}[/]"
        f"\x1b]0;TITLE{TAG}{tag}\x07\x1b]2;TITLE2{TAG}{tag}\x07"
        f"\x1b]52;c;CLIP{TAG}{tag}=\x07\x1b]8;;https://evil{TAG}{tag}.example/\x07ln\x1b]8;;\x07"
        f"\x1b[31mRED{TAG}{tag}\x1b[2J\x9b32mC1{TAG}{tag}\x9d0;OSC8BIT{TAG}{tag}\x9c"
        f"\x1bP1;DCS{TAG}{tag}\x1b\\\x00\x01\x07\x08\x7f\x85"
        f"\u202eRLO{TAG}{tag}\u2066\u200f end{tag}"
    )


FORBIDDEN = [
    rb"\x1b\][0-9]+;[^\x07\x1b]*" + TAG.encode(),  # any OSC carrying our tag
    rb"\x1b\]52",  # a clipboard write, whoever sent it
    rb"\x1b\[[0-9;]*m(?:RED|C1)" + TAG.encode(),  # our colour sequences, applied
    rb"\x1bP[^\x1b]*" + TAG.encode(),
    rb"evil" + TAG.encode(),
]
# Textual's own pointer-shape sequence (OSC 22) ends in BEL; any other BEL is a leak.
TEXTUAL_OSC = rb"\x1b\]22;[a-z-]*\x07"


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
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "SRE_TUI_STATE_DIR": str(tmp_path / "state"),
        "SRE_TUI_CONFIG": str(config),
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sre_tui", "run", "hostile"],
        env=env,
        dimensions=(50, 200),
        timeout=30,
    )
    seen = bytearray()

    def until(pattern: str | type) -> None:
        child.expect(pattern)
        seen.extend(child.before + (child.after if isinstance(child.after, bytes) else b""))

    try:
        until("SAFE-FIRST")
        note = f"{TAG}note [bold]b[/] [@click=app.quit]q[/] \u202eRLO{TAG}note end"
        child.send("n")
        until("Add a note")
        child.send(note)
        child.send("\r")
        until(f"{TAG}note end")
        child.send("\x1b[B")  # the app still takes keys: move to the next step and tick it
        child.send(" ")
        until(r"\[x\]")
        child.send("x")  # nothing: the second step has no command …
        child.send("\x1b[A")
        child.send("x")  # … the first runs its hostile echo, inert in the output dialog
        until("Esc closes")
        child.expect(pexpect.TIMEOUT, timeout=2)
        seen.extend(child.before)
        child.sendcontrol("q")  # quits from anywhere, the output dialog included
        child.expect(pexpect.EOF)
        seen.extend(child.before)
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)

    raw = bytes(seen)
    for pattern in FORBIDDEN:
        assert not re.search(pattern, raw), pattern
    assert b"\x07" not in re.sub(TEXTUAL_OSC, b"", raw)
    text = raw.decode("utf-8", "replace")
    for char in ("\u202e", "\u2066", "\u200f", "\x9b", "\x9d", "\x85", "\x00", "\x01", "\x7f"):
        assert char not in text, repr(char)
    # Markup and click actions are shown as the text they are, never interpreted.
    assert "[@click=app.quit]q" in text
    assert "[bold red]mk" in text
    assert f"{TAG}note" in text
