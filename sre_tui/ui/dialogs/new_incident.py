"""Start an incident that no runbook covers: a title and a severity."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from sre_tui.core.severity import Severity


class NewIncidentDialog(ModalScreen[tuple[str, Severity] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("New incident without a runbook", classes="dialog-title")
            yield Input(placeholder="What is happening?", id="incident-title")
            yield Select(
                [(f"{s.value}", s.value) for s in Severity],
                value=Severity.SEV3.value,
                allow_blank=False,
                id="incident-severity",
            )
            yield Label("Enter to start · Tab to severity · Esc to cancel", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        title = event.value.strip()
        if not title:
            self.notify("Give the incident a title", severity="warning")
            return
        severity = Severity(str(self.query_one(Select).value))
        self.dismiss((title, severity))

    def action_cancel(self) -> None:
        self.dismiss(None)
