"""Firing alerts, each with the runbook that answers it; Enter starts the incident."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from sre_tui import applog
from sre_tui.core.alerts import Alert, runbook_for, severity_of
from sre_tui.core.sanitize import inert
from sre_tui.core.timefmt import short_duration, stamp
from sre_tui.ui.widgets.footer import KeyFooter
from sre_tui.ui.widgets.incident_header import severity_style
from sre_tui.ui.widgets.table import Table

SHOWN_LABELS = ("namespace", "deployment", "service", "pod", "tenant_id", "instance")


class AlertsScreen(Screen[None]):
    CSS_PATH = "alerts.tcss"
    HELP_TITLE = "Keys — alerts"
    BINDINGS = [
        Binding("r", "runbooks", "Runbooks", id="runbooks"),
        Binding("ctrl+r", "refresh", "Refresh", id="refresh-alerts"),
    ]

    def __init__(self, source: Any, interval: float) -> None:
        super().__init__()
        self.source = source
        self.interval = interval
        self.alerts: list[Alert] = []
        self.error: str | None = None
        self.error_since: datetime | None = None  # when the source started failing
        self.fetched_at: datetime | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="alerts-title")
        yield Table(id="alerts-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="alert-detail")
        yield Static(id="alerts-hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in (
            ("Sev", "sev"),
            ("Age", "age"),
            ("Alert", "alert"),
            ("Where", "where"),
            ("Runbook", "runbook"),
        ):
            table.add_column(label, key=key)
        self.query_one("#alerts-hint", Static).update(
            Text(
                "Enter starts an incident (variables from the alert's labels) · "
                "r runbook list · ? keys",
                style="dim",
            )
        )
        self.show_title()
        self.action_refresh()

    def action_refresh(self) -> None:
        self.run_worker(
            self._fetch, thread=True, group="alerts", exclusive=True, exit_on_error=False
        )

    def _fetch(self) -> None:
        try:
            alerts = self.source.alerts()
            error = None
        except Exception as exc:  # any backend failure is shown, never raised
            alerts, error = None, str(exc)
        applog.report("alerts", error)
        self.app.call_from_thread(self._fetched, alerts, error)

    def _fetched(self, alerts: list[Alert] | None, error: str | None) -> None:
        if error is None:
            self.error_since = None
        elif self.error_since is None:
            self.error_since = datetime.now(UTC)
        self.error = error
        if alerts is not None:
            self.alerts = sorted(
                (a for a in alerts if a.state != "pending"),
                key=lambda a: (a.state != "firing", self._severity_rank(a), a.name),
            )
            self.fetched_at = datetime.now(UTC)
        self.populate()
        self.show_title()
        self.set_timer(self.interval, self.action_refresh)

    def _severity_rank(self, alert: Alert) -> int:
        severity = severity_of(alert, self.app.workspace.loaded.config.severity)  # type: ignore[attr-defined]
        return severity.rank if severity else 9

    def _runbooks(self) -> list[Any]:
        return [loaded.runbook for loaded in self.app.workspace.runbooks.runbooks]  # type: ignore[attr-defined]

    def populate(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        now = datetime.now(UTC)
        policy = self.app.workspace.loaded.config.severity  # type: ignore[attr-defined]
        runbooks = self._runbooks()
        for index, alert in enumerate(self.alerts):
            severity = severity_of(alert, policy)
            runbook = runbook_for(alert, runbooks)
            where = " ".join(
                f"{key}={inert(alert.labels[key])}" for key in SHOWN_LABELS if key in alert.labels
            )
            name = Text(inert(alert.name), style="bold" if alert.state == "firing" else "dim")
            if alert.state == "suppressed":
                name.append(" (silenced)", style="dim")
            table.add_row(
                Text(
                    severity.value if severity else "—",
                    style=f"bold {severity_style(severity)}" if severity else "dim",
                ),
                Text(
                    short_duration((now - alert.starts_at).total_seconds())
                    if alert.starts_at
                    else "—"
                ),
                name,
                Text(where, style="dim"),
                Text(runbook.id) if runbook else Text("no runbook", style="yellow"),
                key=str(index),
            )
        if self.alerts:
            table.move_cursor(row=min(cursor, len(self.alerts) - 1))
        self.show_detail()

    def show_detail(self) -> None:
        """The highlighted alert in full: what its annotations say and every label (all of
        it text from the alert's sender, made inert)."""
        detail = self.query_one("#alert-detail", Static)
        row = self.query_one(DataTable).cursor_row
        if not 0 <= row < len(self.alerts):
            detail.update("")
            return
        detail.update(alert_detail(self.alerts[row]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.show_detail()

    def show_title(self) -> None:
        env = self.app.workspace.env_info  # type: ignore[attr-defined]
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(" sre-tui ", style="bold reverse")
        if self.error:
            # First, as the line is cut at the screen's width: since when, and what.
            since = f" since {stamp(self.error_since)}" if self.error_since else ""
            title.append(f" ⚠ failing{since}", style="bold red")
            if self.fetched_at:
                age = (datetime.now(UTC) - self.fetched_at).total_seconds()
                title.append(f" (list from {short_duration(age)} ago)", style="yellow")
            title.append(f": {self.error} ·", style="bold red")
        firing = sum(1 for a in self.alerts if a.state == "firing")
        title.append(f" {firing} firing alert(s) ")
        if env.production:
            title.append(" ▲ PRODUCTION ▲ ", style="bold reverse red")
        title.append(f" env {env.name} ctx {env.context or '—'} ns {env.namespace or '—'}")
        self.query_one("#alerts-title", Static).update(title)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if not self.alerts:
            return
        alert = self.alerts[event.cursor_row]
        runbook = runbook_for(alert, self._runbooks())
        loaded = self.app.workspace.runbooks.by_id(runbook.id) if runbook else None  # type: ignore[attr-defined]
        policy = self.app.workspace.loaded.config.severity  # type: ignore[attr-defined]
        title = None if loaded else f"{alert.name}: {alert.summary}".rstrip(": ")
        self.app.start_incident(  # type: ignore[attr-defined]
            loaded,
            title=inert(title) if title else None,
            severity=severity_of(alert, policy),
            alert=alert,
        )

    def action_runbooks(self) -> None:
        self.app.pop_screen()


def alert_detail(alert: Alert) -> Text:
    text = Text()
    summary = alert.annotations.get("summary", "")
    description = alert.annotations.get("description", "")
    text.append(inert(summary or description or alert.name), style="bold")
    if summary and description:
        text.append(f"\n{inert(description)}")
    text.append("\nlabels ", style="dim")
    text.append(" ".join(f"{inert(k)}={inert(v)}" for k, v in sorted(alert.labels.items())))
    if alert.runbook_url:
        text.append("\nrunbook ", style="dim")
        text.append(inert(alert.runbook_url))
    return text
