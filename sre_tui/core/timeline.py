"""One-line descriptions of incident events, shared by the timeline, handoff and export."""

from __future__ import annotations

from sre_tui.core.incident import Event, EventKind
from sre_tui.core.runbook import Runbook


def step_title(runbook: Runbook | None, step_id: str) -> str:
    step = runbook.step(step_id) if runbook else None
    return step.title if step else step_id


def describe(event: Event, runbook: Runbook | None) -> str:
    data = event.data
    match event.kind:
        case EventKind.STARTED:
            what = f"runbook {data['runbook_id']}" if data.get("runbook_id") else "no runbook"
            return f"Incident started ({data['severity']}, {what})"
        case EventKind.TICK:
            return f"Done: {step_title(runbook, data['step'])}"
        case EventKind.UNTICK:
            return f"Reopened: {step_title(runbook, data['step'])}"
        case EventKind.NOTE:
            return f"Note: {data['text']}"
        case EventKind.STATE:
            return f"State {data['from']} → {data['to']}"
        case EventKind.SEVERITY:
            return f"Severity {data['from']} → {data['to']}"
        case EventKind.ESCALATION:
            return f"Escalation due: {data['to']}"
    return event.kind.value  # pragma: no cover
