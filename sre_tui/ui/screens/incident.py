"""The incident screen: checklist, step detail, escalations and timeline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from sre_tui.backends.incident_store import IncidentStore
from sre_tui.core.escalation import countdowns, newly_due
from sre_tui.core.incident import TRANSITIONS, Event, IncidentError, IncidentState
from sre_tui.core.reports import handoff, progress
from sre_tui.core.severity import Severity
from sre_tui.ui.dialogs.choice import ChoiceDialog
from sre_tui.ui.dialogs.note import TextPrompt
from sre_tui.ui.dialogs.text_view import TextView
from sre_tui.ui.widgets.checklist import Checklist
from sre_tui.ui.widgets.escalations import Escalations
from sre_tui.ui.widgets.incident_header import IncidentHeader
from sre_tui.ui.widgets.step_detail import StepDetail
from sre_tui.ui.widgets.timeline import Timeline
from sre_tui.workspace import ActiveIncident

WIDE = 140  # columns from which detail and timeline sit side by side


class IncidentScreen(Screen[None]):
    CSS_PATH = "incident.tcss"
    HELP_TITLE = "Keys — incident"
    BINDINGS = [
        Binding("n", "note", "Note", id="note"),
        Binding("c", "copy_command", "Copy cmd", id="copy-command"),
        Binding("s", "change_state", "State", id="state"),
        Binding("v", "change_severity", "Severity", id="severity"),
        Binding("H", "handoff", "Handoff", id="handoff"),
        Binding("b", "back", "Runbooks", id="back"),
    ]

    def __init__(self, active: ActiveIncident, store: IncidentStore, user: str) -> None:
        super().__init__()
        self.active = active
        self.store = store
        self.user = user
        self._write_lock = asyncio.Lock()
        self._checking_escalations = False

    @property
    def incident(self):  # -> Incident
        return self.active.incident

    def now(self):  # -> datetime
        return self.app.clock()  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield IncidentHeader(id="incident-header")
        with Horizontal(id="incident-body"):
            if self.active.runbook is not None:
                yield Checklist(self.active.runbook, id="checklist")
            else:
                yield Static(
                    "No runbook: record what you do with notes (n) and move the state (s).",
                    id="no-runbook",
                    markup=False,
                )
            with Vertical(id="side"):
                with VerticalScroll(id="detail-scroll"):
                    yield StepDetail(id="step-detail")
                with Vertical(id="side-right"):
                    yield Escalations(id="escalations")
                    yield Timeline(id="timeline")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail-scroll").border_title = "Step"
        self.query_one(Timeline).border_title = "Timeline"
        if self.active.runbook is not None:
            self.query_one(Checklist).border_title = "Checklist"
        self.refresh_all()
        # Escalations already due (e.g. "SEV1/SEV2: incident commander") fire at once.
        self.run_worker(self.tick_clock(), exit_on_error=False)
        self.set_interval(1.0, self.tick_clock)

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width >= WIDE, "-wide")

    # ---- rendering -------------------------------------------------------------------

    def refresh_all(self) -> None:
        incident, runbook = self.incident, self.active.runbook
        self.set_class(incident.environment.production, "-production")
        if runbook is not None:
            checklist = self.query_one(Checklist)
            checklist.show(incident)
            self.query_one(StepDetail).show(
                checklist.current_step, runbook, incident, self.active.action
            )
        self.query_one(Timeline).show(incident, runbook)
        self.show_clock()

    def _show_header(self) -> None:
        runbook = self.active.runbook
        title = runbook.title if runbook else None
        done, total = progress(self.incident, runbook)
        header = self.query_one(IncidentHeader)
        header.show(self.incident, title, self.incident.elapsed(self.now()))
        header.border_subtitle = f"{done}/{total} steps" if total else ""

    def show_clock(self) -> None:
        self._show_header()
        self.query_one(Escalations).show(
            countdowns(self.incident, self.active.rules, self.now()), self.incident.is_open
        )

    async def tick_clock(self) -> None:
        """Every second: the elapsed clock, countdowns, and escalations that fell due."""
        now = self.now()
        self.show_clock()
        if self._checking_escalations:  # a previous check is still writing
            return
        self._checking_escalations = True
        try:
            await self._record_due_escalations(now)
        finally:
            self._checking_escalations = False

    async def _record_due_escalations(self, now) -> None:  # now: datetime
        for due in newly_due(self.incident, self.active.rules, now):
            recorded = await self.record(
                lambda due=due: self.incident.escalation_event(due.index, due.label, self.user, now)
            )
            if recorded:
                self.notify(
                    f"Escalate now: {due.label}",
                    title="Escalation due",
                    severity="warning",
                    timeout=30,
                )

    # ---- recording -------------------------------------------------------------------

    async def record(self, build: Callable[[], Event]) -> bool:
        """Write the event to disk (off the event loop), then apply and show it."""
        async with self._write_lock:
            try:
                event = build()
            except IncidentError as exc:
                self.notify(str(exc), severity="warning")
                return False
            try:
                await asyncio.to_thread(self.store.append, self.incident.id, event)
            except OSError as exc:
                self.notify(
                    f"Not saved, nothing changed: {exc.strerror or exc}",
                    title="Write failed",
                    severity="error",
                    timeout=20,
                )
                return False
            self.incident.apply(event)
        self.refresh_all()
        return True

    # ---- checklist -------------------------------------------------------------------

    async def on_checklist_toggled(self, message: Checklist.Toggled) -> None:
        await self.record(
            lambda: self.incident.toggle_event(message.step_id, self.user, self.now())
        )

    def on_checklist_step_highlighted(self, message: Checklist.StepHighlighted) -> None:
        if self.active.runbook is not None:
            self.query_one(StepDetail).show(
                message.step, self.active.runbook, self.incident, self.active.action
            )
            self.query_one("#detail-scroll").scroll_home(animate=False)

    # ---- actions ---------------------------------------------------------------------

    def action_note(self) -> None:
        async def save(text: str | None) -> None:
            if text:
                await self.record(lambda: self.incident.note_event(text, self.user, self.now()))

        self.app.push_screen(
            TextPrompt("Add a note to the timeline", "What did you see or do?"), save
        )

    def action_copy_command(self) -> None:
        step = self.query_one(Checklist).current_step if self.active.runbook else None
        if step is None or not step.command:
            self.notify("The selected step has no command", severity="warning")
            return
        self.app.copy_to_clipboard(step.command.strip())
        self.notify(f"Copied: {step.command.strip()[:60]}", markup=False)

    def action_change_state(self) -> None:
        allowed = TRANSITIONS[self.incident.state]
        if not allowed:
            self.notify(
                f"The incident is {self.incident.state}; nothing follows", severity="warning"
            )
            return

        async def chosen(value: str | None) -> None:
            if value:
                new = IncidentState(value)
                await self.record(lambda: self.incident.state_event(new, self.user, self.now()))

        choices = [(state.value, f"→ {state.value}") for state in allowed]
        self.app.push_screen(
            ChoiceDialog(f"Move incident from {self.incident.state} to", choices), chosen
        )

    def action_change_severity(self) -> None:
        policy = self.app.workspace.loaded.config.severity  # type: ignore[attr-defined]

        async def chosen(value: str | None) -> None:
            if value and value != self.incident.severity.value:
                new = Severity(value)
                await self.record(lambda: self.incident.severity_event(new, self.user, self.now()))

        choices = []
        for severity in Severity:
            level = policy.levels.get(severity)
            label = f"{severity.value}  {level.definition if level else ''}"
            label += f"  (respond: {policy.response_label(severity)})"
            choices.append((severity.value, label))
        self.app.push_screen(
            ChoiceDialog("Severity", choices, current=self.incident.severity.value), chosen
        )

    def handoff_text(self) -> str:
        return handoff(self.incident, self.active.runbook, self.active.rules, self.now())

    def action_handoff(self) -> None:
        self.app.push_screen(TextView("Handoff summary", self.handoff_text()))

    def action_back(self) -> None:
        self.app.show_runbooks()  # type: ignore[attr-defined]

    def palette_commands(self) -> Iterator[SystemCommand]:
        yield SystemCommand(
            "Handoff summary", "State, elapsed, open steps, actions, notes", self.action_handoff
        )
        yield SystemCommand("Add note", "Add a note to the timeline", self.action_note)
        yield SystemCommand(
            "Change state",
            "investigating → mitigated → resolved → closed",
            self.action_change_state,
        )
        yield SystemCommand("Change severity", "SEV1–SEV4", self.action_change_severity)
        yield SystemCommand(
            "Copy step command",
            "Copy the selected step's command (OSC 52)",
            self.action_copy_command,
        )
        yield SystemCommand("Back to runbooks", "The runbook list", self.action_back)
