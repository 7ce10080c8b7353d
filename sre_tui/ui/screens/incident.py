"""The incident screen: checklist, step detail, live evidence panes, escalations, timeline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from sre_tui.actions.gate import ActionGate, build_gate
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.core.escalation import countdowns, newly_due
from sre_tui.core.incident import TRANSITIONS, Event, IncidentError, IncidentState
from sre_tui.core.metrics import reading, verify_holds
from sre_tui.core.reports import handoff, progress
from sre_tui.core.runbook import Step
from sre_tui.core.safety import write_mode_left
from sre_tui.core.severity import Severity
from sre_tui.core.timefmt import stamp
from sre_tui.ui.dialogs.choice import ChoiceDialog
from sre_tui.ui.dialogs.confirm import ConfirmDialog
from sre_tui.ui.dialogs.note import TextPrompt
from sre_tui.ui.dialogs.text_view import TextView
from sre_tui.ui.screens.incident_actions import ACTION_BINDINGS, GatedActions
from sre_tui.ui.widgets.checklist import Checklist
from sre_tui.ui.widgets.checks_pane import ChecksPane
from sre_tui.ui.widgets.escalations import Escalations
from sre_tui.ui.widgets.footer import KeyFooter
from sre_tui.ui.widgets.incident_header import IncidentHeader
from sre_tui.ui.widgets.logs_pane import LogsPane
from sre_tui.ui.widgets.metrics_pane import MetricsPane
from sre_tui.ui.widgets.pods_pane import PodsPane
from sre_tui.ui.widgets.step_detail import StepDetail
from sre_tui.ui.widgets.timeline import Timeline
from sre_tui.workspace import ActiveIncident, LiveBackends

WIDE = 140  # columns from which detail and timeline sit side by side


class IncidentScreen(GatedActions, Screen[None]):
    CSS_PATH = "incident.tcss"
    HELP_TITLE = "Keys — incident"
    BINDINGS = [
        Binding("n", "note", "Note", id="note"),
        Binding("c", "copy_command", "Copy cmd", id="copy-command"),
        Binding("s", "change_state", "State", id="state"),
        Binding("v", "change_severity", "Severity", id="severity"),
        Binding("H", "handoff", "Handoff", id="handoff"),
        Binding("b", "back", "Runbooks", id="back"),
        Binding("i", "pane('tab-step')", "Step", id="pane-step", show=False),
        Binding("m", "pane('tab-metrics')", "Metrics", id="pane-metrics"),
        Binding("p", "pane('tab-pods')", "Pods", id="pane-pods"),
        Binding("l", "pane('tab-logs')", "Logs", id="pane-logs"),
        Binding("k", "pane('tab-checks')", "Checks", id="pane-checks", show=False),
        Binding("T", "pane('tab-timeline')", "Timeline", id="pane-timeline", show=False),
        Binding("z", "zoom", "Zoom pane", id="zoom", show=False),
        *ACTION_BINDINGS,
    ]

    def __init__(self, active: ActiveIncident, store: IncidentStore, user: str) -> None:
        super().__init__()
        self.active = active
        self.store = store
        self.user = user
        self._write_lock = asyncio.Lock()
        self._checking_escalations = False
        self.live: LiveBackends | None = None
        self.gate: ActionGate | None = None
        self._in_flight: set[str] = set()
        self._following: set[str] = set()
        self._command_screen = None

    @property
    def incident(self):  # -> Incident
        return self.active.incident

    def now(self):  # -> datetime
        return self.app.clock()  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        runbook = self.active.runbook
        refresh = self.app.workspace.loaded.config.refresh  # type: ignore[attr-defined]
        yield IncidentHeader(id="incident-header")
        with Horizontal(id="incident-body"):
            if runbook is not None:
                yield Checklist(runbook, id="checklist")
            else:
                yield Static(
                    "No runbook: record what you do with notes (n) and move the state (s).",
                    id="no-runbook",
                    markup=False,
                )
            # Large terminals: step detail, escalations and timeline in a column of their own.
            with Vertical(id="middle"):
                with VerticalScroll(classes="detail-scroll"):
                    yield StepDetail(classes="step-detail")
                yield Escalations(classes="escalations")
                yield Timeline(classes="timeline")
            with TabbedContent(id="evidence"):
                with TabPane("Step", id="tab-step"), VerticalScroll(classes="detail-scroll"):
                    yield StepDetail(classes="step-detail")
                with TabPane("Metrics", id="tab-metrics"):
                    yield MetricsPane(
                        runbook.queries if runbook else [],
                        interval=refresh.metrics_seconds,
                        id="metrics",
                    )
                with TabPane("Pods", id="tab-pods"):
                    yield PodsPane(id="pods")
                with TabPane("Logs", id="tab-logs"):
                    highlight = runbook.logs.highlight if runbook and runbook.logs else []
                    yield LogsPane(highlight=highlight, id="logs")
                with TabPane("Checks", id="tab-checks"):
                    yield ChecksPane(runbook.checks if runbook else [], id="checks")
                with TabPane("Timeline", id="tab-timeline"):
                    yield Escalations(classes="escalations")
                    yield Timeline(classes="timeline")
        yield KeyFooter()

    def on_mount(self) -> None:
        for scroll in self.query(".detail-scroll"):
            scroll.border_title = "Step"
        for timeline in self.query(Timeline):
            timeline.border_title = "Timeline"
        if self.active.runbook is not None:
            self.query_one(Checklist).border_title = "Checklist"
        self.refresh_all()
        for record in self.incident.unknown_outcomes:
            self._say(
                f"{record.intent.get('title', record.audit_id)}: the app stopped after the "
                "intent was recorded — check the server (sre-tui audit)",
                title="Action outcome unknown",
                severity="error",
                timeout=60,
                markup=False,
            )
        # Escalations already due (e.g. "SEV1/SEV2: incident commander") fire at once.
        self.run_worker(self.tick_clock(), exit_on_error=False)
        self.set_interval(1.0, self.tick_clock)
        self.run_worker(self._start_live(), exit_on_error=False)

    # ---- live panes ------------------------------------------------------------------

    def _pod_selector(self) -> str | None:
        runbook = self.active.runbook
        if runbook is not None and runbook.logs is not None:
            return runbook.logs.selector
        deployment = self.incident.variables.get("deployment")
        return f"app={deployment}" if deployment else None

    async def _start_live(self) -> None:
        live = await self.app.live_backends()  # type: ignore[attr-defined]
        while not self.query(MetricsPane):  # the tabs mount their panes after this screen
            await asyncio.sleep(0.02)
        self.live = live
        self.gate = build_gate(self.app.workspace, self.incident, live, self.command_output)  # type: ignore[attr-defined]
        self.query_one(MetricsPane).start(live.prometheus, live.prometheus_reason)
        self.show_action_markers()
        self.query_one(ChecksPane).kube = live.kube
        pods = self.query_one(PodsPane)
        if live.kube is not None:
            pods.watch(live.kube, self._pod_selector())
        else:
            pods.state = live.kube_reason or "no Kubernetes connection"
            pods.show_status()

    def on_pods_pane_pods_changed(self, message: PodsPane.PodsChanged) -> None:
        if self.live is not None and self.live.kube is not None:
            logs = self.query_one(LogsPane)
            logs.watch_pods(self.live.kube, message.names, self.query_one(PodsPane).selected)

    def on_pods_pane_pod_selected(self, message: PodsPane.PodSelected) -> None:
        logs = self.query_one(LogsPane)
        if message.name != logs.selected_pod:
            logs.selected_pod = message.name
            if not logs.all_pods:
                logs.restart_streams()

    def on_metrics_pane_updated(self, _: MetricsPane.Updated) -> None:
        self._show_step(self._current_step())

    async def on_checks_pane_probed(self, message: ChecksPane.Probed) -> None:
        check = message.check
        await self.record(
            lambda: self.incident.check_event(
                check.id,
                check.title,
                message.status,
                message.seconds * 1000,
                message.ok,
                self.user,
                self.now(),
            )
        )

    PANE_FOCUS = {
        "tab-step": "#evidence .detail-scroll",
        "tab-metrics": "#metrics",
        "tab-pods": "#pods-table",
        "tab-logs": "#logs-view",
        "tab-checks": "#checks-table",
        "tab-timeline": "#evidence .timeline",
    }

    def action_pane(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.get_tab(tab).display:
            tabs.active = tab
            self.query_one(self.PANE_FOCUS[tab]).focus()
        else:  # at wide sizes step and timeline sit in their own column
            self.query_one(self.PANE_FOCUS[tab].replace("#evidence", "#middle")).focus()

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
        else:
            self.maximize(self.query_one(TabbedContent), container=False)

    def _drive_panes(self, step: Step | None) -> None:
        """A step that names evidence brings that pane forward with that focus."""
        if step is None or step.focus is None:
            return
        focus = step.focus
        tabs = self.query_one(TabbedContent)
        tabs.active = f"tab-{focus.pane}"
        # Panes mount with the tabs; an early highlight may come before them.
        if focus.query:
            for metrics in self.query(MetricsPane):
                metrics.focus_query(focus.query)
        if focus.pane == "logs" and focus.filter:
            for logs in self.query(LogsPane):
                logs.set_filter(focus.filter)
        if focus.check:
            for checks in self.query(ChecksPane):
                checks.select(focus.check)

    def on_resize(self, event: Resize) -> None:
        wide = event.size.width >= WIDE
        self.set_class(wide, "-wide")
        tabs = self.query_one(TabbedContent)
        for tab in ("tab-step", "tab-timeline"):
            (tabs.hide_tab if wide else tabs.show_tab)(tab)
        if wide and tabs.active in ("tab-step", "tab-timeline"):
            tabs.active = "tab-metrics"

    # ---- rendering -------------------------------------------------------------------

    def refresh_all(self) -> None:
        incident, runbook = self.incident, self.active.runbook
        self.set_class(incident.environment.production, "-production")
        if runbook is not None:
            checklist = self.query_one(Checklist)
            checklist.show(incident)
            self._show_step(checklist.current_step)
        for timeline in self.query(Timeline):
            timeline.show(incident, runbook, self._in_flight)
        self.show_clock()

    def _current_step(self) -> Step | None:
        return self.query_one(Checklist).current_step if self.active.runbook else None

    def _show_step(self, step: Step | None) -> None:
        if self.active.runbook is None:
            return
        # Early highlights can arrive before the evidence tabs have mounted their panes.
        metrics = next(iter(self.query(MetricsPane)), None)
        current = metrics.current if metrics is not None else lambda _: None
        blocked = self.write_blocked()
        for detail in self.query(StepDetail):
            detail.show(
                step, self.active.runbook, self.incident, self.active.action, current, blocked
            )

    def show_rollout(self, text: str) -> None:
        for pods in self.query(PodsPane):
            pods.rollout = text
            pods.show_status()

    def show_action_markers(self) -> None:
        """▲ on every chart at the moments actions were applied."""
        markers = [
            (record.at.timestamp(), f"▲{stamp(record.at)} {record.intent.get('title', '')}")
            for record in self.incident.actions.values()
            if record.at is not None
            and record.state == "applied"
            and record.intent.get("kind") != "command"
        ]
        for metrics in self.query(MetricsPane):
            metrics.set_markers(markers)

    def _show_header(self) -> None:
        runbook = self.active.runbook
        title = runbook.title if runbook else None
        done, total = progress(self.incident, runbook)
        header = self.query_one(IncidentHeader)
        header.show(
            self.incident,
            title,
            self.incident.elapsed(self.now()),
            locked_read_only=self.app.workspace.read_only,  # type: ignore[attr-defined]
            write_left=write_mode_left(self.incident.write_until, self.now()),
        )
        header.border_subtitle = f"{done}/{total} steps" if total else ""

    def show_clock(self) -> None:
        self._show_header()
        due = countdowns(self.incident, self.active.rules, self.now())
        for widget in self.query(Escalations):
            widget.show(due, self.incident.is_open)

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
                self._say(
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
                self._say(str(exc), severity="warning")
                return False
            try:
                await asyncio.to_thread(self.store.append, self.incident.id, event)
            except OSError as exc:
                self._say(
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
        step = self.active.runbook.step(message.step_id) if self.active.runbook else None
        if step is None:
            return
        if step.id in self.incident.ticks:
            await self.record(lambda: self.incident.toggle_event(step.id, self.user, self.now()))
            return
        evidence = self._evidence(step)

        async def tick(confirmed: bool | None = True) -> None:
            if confirmed:
                await self.record(
                    lambda: self.incident.toggle_event(step.id, self.user, self.now(), evidence)
                )

        if step.verify is not None:
            metrics = next(iter(self.query(MetricsPane)), None)
            value = metrics.current(step.verify.query) if metrics is not None else None
            holds = verify_holds(value, step.verify)
            if holds is not True:
                state = "does not hold" if holds is False else "has no data yet"
                detail = "; ".join(evidence) or step.verify.query
                self.app.push_screen(
                    ConfirmDialog(
                        "Tick a step whose goal is not met?",
                        f"Its check {state}: {detail}",
                        "Tick anyway",
                    ),
                    tick,
                )
                return
        await tick()

    def _evidence(self, step: Step) -> list[str]:
        """What was on screen for this step, recorded with the tick."""
        runbook, metrics = self.active.runbook, next(iter(self.query(MetricsPane)), None)
        query_ids = [
            q
            for q in (
                step.focus.query if step.focus else None,
                step.verify.query if step.verify else None,
            )
            if q
        ]
        items: list[str] = []
        for query_id in dict.fromkeys(query_ids):
            query = runbook.query(query_id) if runbook else None
            if query is not None:
                value = metrics.current(query_id) if metrics is not None else None
                items.append(reading(value, query))
        if step.focus is not None and step.focus.pane == "pods":
            pods = next(iter(self.query(PodsPane)), None)
            if pods is not None and pods.rows:
                items.append(f"pods: {pods.summary()}")
        return items

    def on_checklist_step_highlighted(self, message: Checklist.StepHighlighted) -> None:
        self._show_step(message.step)
        for scroll in self.query(".detail-scroll"):
            scroll.scroll_home(animate=False)
        self._drive_panes(message.step)

    # ---- actions ---------------------------------------------------------------------

    def action_note(self) -> None:
        async def save(text: str | None) -> None:
            if text:
                await self.record(lambda: self.incident.note_event(text, self.user, self.now()))

        self.app.push_screen(
            TextPrompt("Add a note to the timeline", "What did you see or do?"), save
        )

    def action_copy_command(self) -> None:
        step = self._current_step()
        if step is None or not step.command:
            self._say("The selected step has no command", severity="warning")
            return
        self.app.copy_to_clipboard(step.command.strip())
        self._say(f"Copied: {step.command.strip()[:60]}", markup=False)

    def action_change_state(self) -> None:
        allowed = TRANSITIONS[self.incident.state]
        if not allowed:
            self._say(f"The incident is {self.incident.state}; nothing follows", severity="warning")
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
        yield SystemCommand(
            "Apply step action", "The selected step's action, confirmed", self.action_step_action
        )
        yield SystemCommand(
            "Kill switches", "Runbook and global kill switches", self.action_kill_switches
        )
        yield SystemCommand(
            "Run step command", "In a pane, with the environment's context", self.action_run_command
        )
        yield SystemCommand(
            "Revert an action", "Restore what an action changed", self.action_revert
        )
        yield SystemCommand(
            "Write mode",
            "Allow changes to a read-only environment for a while",
            self.action_write_mode,
        )
        yield SystemCommand("Back to runbooks", "The runbook list", self.action_back)
