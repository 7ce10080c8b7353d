"""The incident's header: id, title, severity, state, environment and elapsed clock."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from sre_tui.core.incident import Incident, IncidentState
from sre_tui.core.sanitize import inert
from sre_tui.core.timefmt import duration

STATE_STYLE = {
    IncidentState.INVESTIGATING: "bold",
    IncidentState.MITIGATED: "bold",
    IncidentState.RESOLVED: "bold",
    IncidentState.CLOSED: "dim",
}


class IncidentHeader(Static):
    """Two lines; the environment line turns red for production."""

    def show(
        self,
        incident: Incident,
        runbook_title: str | None,
        elapsed: float,
        *,
        locked_read_only: bool = False,
        write_left: float | None = None,
    ) -> None:
        env = incident.environment
        self.set_class(env.production, "-production")
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(
            f" {incident.severity} ", style=f"bold reverse {severity_style(incident.severity)}"
        )
        top.append(f" {incident.state.value.upper()} ", style=STATE_STYLE[incident.state])
        top.append(f" {duration(elapsed)} ", style="bold")
        top.append(f" {inert(runbook_title or incident.title)}", style="bold")
        bottom = Text(no_wrap=True, overflow="ellipsis")
        bottom.append(f"{incident.id} ", style="dim")
        if env.production:
            bottom.append(" ▲ PRODUCTION ▲ ", style="bold reverse")
            bottom.append(" ")
        bottom.append(f"env {inert(env.name)}")
        bottom.append(f" ctx {inert(env.context or '—')}")
        bottom.append(f" ns {inert(env.namespace or '—')}")
        if not env.tls_verify:
            bottom.append("  TLS VERIFY OFF", style="bold reverse yellow")
        if locked_read_only:
            bottom.append("  READ-ONLY (--read-only)", style="bold")
        elif env.read_only and write_left is not None:
            left = int(write_left)
            bottom.append(f"  WRITE MODE {left // 60}:{left % 60:02d}", style="bold reverse red")
        elif env.read_only:
            bottom.append("  READ-ONLY", style="bold")
        if runbook_title and runbook_title != incident.title:
            bottom.append(f"  · {inert(incident.title)}", style="dim")
        self.update(Text("\n").join([top, bottom]))


def severity_style(severity: object) -> str:
    """The colour a severity is shown in, everywhere (header, runbook list, alerts)."""
    return {"SEV1": "red", "SEV2": "dark_orange", "SEV3": "yellow", "SEV4": "blue"}.get(
        str(severity), ""
    )
