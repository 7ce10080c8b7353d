"""One-line descriptions of incident events, shared by the timeline, handoff and export."""

from __future__ import annotations

from sre_tui.core.actions import show_value
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
            source = f", from alert {data['alert']['name']}" if data.get("alert") else ""
            return f"Incident started ({data['severity']}, {what}{source})"
        case EventKind.TICK:
            evidence = "; ".join(data.get("evidence", ()))
            suffix = f" [{evidence}]" if evidence else ""
            return f"Done: {step_title(runbook, data['step'])}{suffix}"
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
        case EventKind.CHECK:
            verdict = "ok" if data.get("ok") else "FAILED"
            status = data.get("status") or "no answer"
            return f"Health check {data['title']}: {status} in {data['ms']} ms ({verdict})"
        case EventKind.ACTION:
            return _describe_action(data)
        case EventKind.WRITE_MODE:
            until = data.get("until")
            return f"Write mode on until {until[11:16]} UTC" if until else "Write mode off"
        case EventKind.ROLLOUT:
            verdict = (
                f"FAILED: {data['failed']}"
                if data.get("failed")
                else ("complete" if data.get("done") else "in progress")
            )
            return f"Rollout of {data['deployment']} {verdict} ({data['text']})"
    return event.kind.value  # pragma: no cover


def _describe_action(data: dict) -> str:
    if data.get("phase") == "intent":
        plan = data.get("plan") or {}
        verb = "Reverting" if plan.get("reverts") else "Applying"
        before = show_value(plan.get("before"), plan.get("before_known", True))
        change = f"{before} → {show_value(plan.get('after'))}"
        if plan.get("kind") == "command":
            change = f"$ {plan.get('after', '')}"
        return f"{verb} {plan.get('title', '?')}: {plan.get('target', '')} {change}"
    outcome = data.get("outcome") or {}
    if outcome.get("conflict"):
        verdict = "REFUSED, changed on the server"
    else:
        verdict = "done" if outcome.get("ok") else "FAILED"
    text = f"Action {verdict}: {outcome.get('message', '')}"
    if outcome.get("response"):
        text += f" — {str(outcome['response'])[:200]}"
    return text
