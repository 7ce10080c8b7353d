"""Every binding of the screen underneath, generated from the bindings themselves."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="close"),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, rows: list[tuple[str, str]], title: str = "Keys") -> None:
        super().__init__()
        self.rows = rows
        self.help_title = title

    def compose(self) -> ComposeResult:
        width = max((len(key) for key, _ in self.rows), default=4)
        body = Text()
        for index, (key, description) in enumerate(self.rows):
            if index:
                body.append("\n")
            body.append(f"{key:>{width}}", style="bold")
            body.append(f"  {description}")
        with Vertical(classes="dialog"):
            yield Label(self.help_title, classes="dialog-title", markup=False)
            with VerticalScroll():
                yield Static(body, id="help-body")
            yield Label("Esc closes · ctrl+p lists every command by name", classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
