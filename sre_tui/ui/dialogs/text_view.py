"""Show a block of text (the handoff summary) that can be copied in one key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea


class TextView(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="close"),
        Binding("c", "copy", "Copy", id="copy"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.view_title = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide"):
            yield Label(self.view_title, classes="dialog-title", markup=False)
            yield TextArea(self.text, read_only=True, id="text-view", soft_wrap=True)
            yield Label("c copies to the clipboard (OSC 52) · Esc closes", classes="dialog-hint")

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("Handoff copied to the clipboard")

    def action_close(self) -> None:
        self.dismiss(None)
