"""A running command's output, as it arrives; Escape stops it (or closes when done).

Lines are written to a `Log`, which never reads markup, after being made inert: command
output is untrusted text.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Log

from sre_tui.core.sanitize import inert


class CommandOutput(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Stop / close", id="close")]

    def __init__(self, title: str, command: str, cancel: Callable[[], None]) -> None:
        super().__init__()
        self.command_title = title
        self.command = command
        self.cancel = cancel
        self.finished = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog command-output"):
            yield Label(inert(self.command_title), classes="dialog-title", markup=False)
            yield Label(f"$ {inert(self.command)}", markup=False)
            yield Log(id="command-log", max_lines=5000)
            yield Label("running… · Esc stops it", id="command-status", markup=False)

    def write_line(self, line: str) -> None:
        self.query_one(Log).write_line(inert(line))

    def done(self, status: str) -> None:
        self.finished = True
        self.query_one("#command-status", Label).update(f"{status} · Esc closes")

    def action_close(self) -> None:
        if not self.finished:
            self.cancel()
            return
        self.dismiss(None)
