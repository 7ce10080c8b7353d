"""Confirm one action: what, where, the live value and the new one, the server's dry-run
verdict, access, and whether it can be undone.

Cancel has the focus, so a reflexive Enter does nothing. In production the object's name
must be typed; elsewhere `y` (or the Apply button) confirms. The dialog answers once:
a second key press or a key repeat cannot confirm twice.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from sre_tui.core.actions import Plan, show_value
from sre_tui.core.sanitize import inert


def plan_text(plan: Plan, write_block: str | None = None) -> Text:
    """The plan as the dialog shows it (plain Text: nothing in it is read as markup)."""
    out = Text()

    def row(label: str, value: str | Text, style: str = "") -> None:
        out.append(f"\n{label:<12}", style="bold")
        out.append(value if isinstance(value, Text) else Text(inert(value), style=style))

    where = f"{plan.environment}"
    if plan.production:
        where += "  ▲ PRODUCTION ▲"
    row("Environment", where, "bold red" if plan.production else "")
    row("Context", f"{plan.context or '—'}   namespace {plan.namespace or '—'}")
    row("Object", plan.target)
    row("Change", plan.subject)
    diff = Text()
    diff.append(inert(show_value(plan.before, plan.before_known)), style="red")
    diff.append("  →  ")
    diff.append(inert(show_value(plan.after)), style="bold green")
    row("", diff)
    if not plan.before_known:
        row("", "the current value is unknown: this action declares no way to read it", "dim")
    verdict = plan.dry_run
    if not verdict.available:
        row("Dry-run", f"— {verdict.message}", "yellow")
    elif verdict.ok:
        row("Dry-run", f"✓ {verdict.message}", "green")
    else:
        row("Dry-run", f"✗ {verdict.message}", "bold red")
    access = plan.access
    if access.permitted is True:
        row("Access", f"✓ permitted {access.reason}".rstrip(), "green")
    elif access.permitted is False:
        row("Access", f"✗ not permitted: {access.reason}", "bold red")
    else:
        row("Access", f"? {access.reason or 'not checked'}", "dim")
    if plan.revertible:
        row("Undo", f"can be reverted (u): {plan.revert_note}".rstrip(": "), "green")
    else:
        row("Undo", f"cannot be undone: {plan.revert_note}".rstrip(": "), "yellow")
    for line in plan.details:
        row("", line, "dim")
    blocked = write_block or plan.blocked
    if blocked:
        out.append(f"\n\n⛔ {inert(blocked)}", style="bold red")
    return out


class ActionConfirm(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("y", "confirm", "Apply", id="apply"),
    ]

    def __init__(self, plan: Plan, write_block: str | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.block = write_block or plan.blocked
        self._answered = False

    def compose(self) -> ComposeResult:
        plan = self.plan
        verb = "Revert" if plan.reverts else "Apply"
        with Vertical(classes="dialog action-dialog"):
            yield Label(f"⚡ {verb}: {inert(plan.title)}", classes="dialog-title", markup=False)
            with VerticalScroll():
                yield Static(plan_text(plan, self.block), id="plan")
            if plan.production and not self.block:
                yield Label(
                    f"Production: type {inert(plan.confirm_name)!r} to confirm",
                    classes="action-typed-label",
                    markup=False,
                )
                yield Input(placeholder=plan.confirm_name, id="typed-confirm")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(verb, id="confirm", variant="error", disabled=self._disabled(""))
            hint = "Esc cancels, nothing changes"
            if not self.block:
                hint = (
                    "type the name, then Enter · " if plan.production else "y applies · "
                ) + hint
            yield Label(hint, classes="dialog-hint")

    def _disabled(self, typed: str) -> bool:
        if self.block:
            return True
        return self.plan.production and typed.strip() != self.plan.confirm_name

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = self._disabled(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self._disabled(event.value):
            self._answer(True)
        else:
            self.notify(f"Type {self.plan.confirm_name!r} exactly to confirm", severity="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm":
            self.action_confirm()
        else:
            self._answer(False)

    def action_confirm(self) -> None:
        if self.block:
            self.notify(self.block, severity="error", markup=False)
            return
        if self.plan.production:
            typed = self.query_one("#typed-confirm", Input).value
            if self._disabled(typed):
                self.query_one("#typed-confirm", Input).focus()
                self.notify(
                    f"Production: type {self.plan.confirm_name!r} to confirm",
                    severity="warning",
                    markup=False,
                )
                return
        self._answer(True)

    def action_cancel(self) -> None:
        self._answer(False)

    def _answer(self, confirmed: bool) -> None:
        if self._answered:  # a second Enter / key repeat: already answered
            return
        self._answered = True
        self.dismiss(confirmed)
