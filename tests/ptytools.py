"""The app in a real pseudo-terminal (pexpect), and the hostile text the untrusted-text
tests feed it: what to send, and what must never come back out on the terminal."""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pexpect

# Every hostile sequence carries this tag, so the drawing sequences Textual emits itself
# are never mistaken for a leak.
TAG = "QZX"

FORBIDDEN = [
    rb"\x1b\][0-9]+;[^\x07\x1b]*" + TAG.encode(),  # any OSC carrying our tag
    rb"\x1b\]52",  # a clipboard write, whoever sent it
    rb"\x1b\[[0-9;]*m(?:RED|C1)" + TAG.encode(),  # our colour sequences, applied
    rb"\x1bP[^\x1b]*" + TAG.encode(),
    rb"evil" + TAG.encode(),
]
# Textual's own pointer-shape sequence (OSC 22) ends in BEL; any other BEL is a leak.
TEXTUAL_OSC = rb"\x1b\]22;[a-z-]*\x07"
# Characters that must never reach the terminal as themselves.
NEVER_SHOWN = ("\u202e", "\u2066", "\u200f", "\x9b", "\x9d", "\x85", "\x00", "\x01", "\x7f")


def payload(tag: str, *, nul: bool = True) -> str:
    """Escape sequences (title, clipboard, hyperlink, colours, clear screen, DCS, 8-bit
    C1), control characters, Rich markup, a Textual click action and bidi overrides.
    `nul=False` leaves out NUL, which some servers refuse outright."""
    controls = ("\x00" if nul else "") + "\x01\x07\x08\x7f\x85"
    return (
        f"{TAG}{tag} [bold red]mk{tag}[/] [@click=app.quit]q{tag}[/]"
        f"\x1b]0;TITLE{TAG}{tag}\x07\x1b]2;TITLE2{TAG}{tag}\x07"
        f"\x1b]52;c;CLIP{TAG}{tag}=\x07\x1b]8;;https://evil{TAG}{tag}.example/\x07ln\x1b]8;;\x07"
        f"\x1b[31mRED{TAG}{tag}\x1b[2J\x9b32mC1{TAG}{tag}\x9d0;OSC8BIT{TAG}{tag}\x9c"
        f"\x1bP1;DCS{TAG}{tag}\x1b\\{controls}"
        f"\u202eRLO{TAG}{tag}\u2066\u200f end{tag}"
    )


def assert_inert(raw: bytes) -> str:
    """Fail if anything hostile reached the terminal; the text that did, decoded."""
    for pattern in FORBIDDEN:
        assert not re.search(pattern, raw), pattern
    assert b"\x07" not in re.sub(TEXTUAL_OSC, b"", raw)
    text = raw.decode("utf-8", "replace")
    for char in NEVER_SHOWN:
        assert char not in text, repr(char)
    return text


class Session:
    """A spawned app and every byte it wrote to its terminal so far."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.seen = bytearray()

    def until(self, pattern: str | type) -> None:
        self.child.expect(pattern)
        after = self.child.after
        self.seen += self.child.before + (after if isinstance(after, bytes) else b"")

    def drain(self, seconds: float) -> None:
        """Whatever the app writes in the next `seconds`."""
        self.child.expect(pexpect.TIMEOUT, timeout=seconds)
        self.seen += self.child.before

    def send(self, text: str) -> None:
        self.child.send(text)


def app_env(state: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "TERM": "xterm-256color", "SRE_TUI_STATE_DIR": str(state), **extra}


def spawn_app(
    args: list[str], env: dict[str, str], *, rows: int = 30, cols: int = 100, timeout: int = 30
) -> pexpect.spawn:
    """`python -m sre_tui ARGS` in a pty of rows × cols."""
    return pexpect.spawn(
        sys.executable, ["-m", "sre_tui", *args], env=env, dimensions=(rows, cols), timeout=timeout
    )


@contextmanager
def app_session(
    args: list[str], env: dict[str, str], *, rows: int = 30, cols: int = 100, timeout: int = 30
) -> Iterator[Session]:
    """`spawn_app` as a Session; killed if still running after."""
    child = spawn_app(args, env, rows=rows, cols=cols, timeout=timeout)
    try:
        yield Session(child)
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
