"""The incident timeline, newest last."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from sre_tui.core.incident import EventKind, Incident
from sre_tui.core.runbook import Runbook
from sre_tui.core.sanitize import inert
from sre_tui.core.timefmt import stamp
from sre_tui.core.timeline import describe

KIND_STYLE = {
    EventKind.STARTED: "bold",
    EventKind.TICK: "green",
    EventKind.UNTICK: "yellow",
    EventKind.NOTE: "cyan",
    EventKind.STATE: "bold magenta",
    EventKind.SEVERITY: "bold red",
    EventKind.ESCALATION: "bold yellow",
    EventKind.ACTION: "bold magenta",
    EventKind.WRITE_MODE: "bold red",
    EventKind.ROLLOUT: "magenta",
}


class Timeline(VerticalScroll, can_focus=True):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Held, not queried: the screen may render the timeline before this child mounted.
        self._body = Static(classes="timeline-body")

    def compose(self) -> ComposeResult:
        yield self._body

    def on_show(self) -> None:
        # A hidden tab has no size, so its last scroll did nothing: scroll when shown.
        self.call_after_refresh(self.scroll_end, animate=False)

    def show(
        self, incident: Incident, runbook: Runbook | None, in_flight: Collection[str] = ()
    ) -> None:
        out = Text()
        for index, event in enumerate(incident.events):
            if index:
                out.append("\n")
            out.append(stamp(event.ts), style="dim")
            out.append(" ")
            out.append(inert(describe(event, runbook)), style=KIND_STYLE.get(event.kind, ""))
            out.append(f" — {inert(event.user)}", style="dim")
            if event.kind is EventKind.ACTION and event.data.get("phase") == "intent":
                record = incident.actions.get(str(event.data.get("audit_id")))
                if record and record.outcome is None and record.audit_id not in in_flight:
                    out.append("  OUTCOME UNKNOWN: check the server", style="bold reverse red")
        self._body.update(out)
        # After the new content is laid out, or the end is the old end.
        self.call_after_refresh(self.scroll_end, animate=False)
