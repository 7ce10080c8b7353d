"""Text made from an incident: the handoff summary and the post-mortem draft."""

from __future__ import annotations

from datetime import datetime

from sre_tui.core.escalation import countdowns
from sre_tui.core.incident import EventKind, Incident
from sre_tui.core.runbook import EscalationRule, Runbook
from sre_tui.core.timefmt import duration, full_stamp, short_duration, stamp
from sre_tui.core.timeline import describe

ACTION_KINDS = (
    EventKind.TICK,
    EventKind.STATE,
    EventKind.SEVERITY,
    EventKind.CHECK,
    EventKind.ACTION,
    EventKind.WRITE_MODE,
    EventKind.ROLLOUT,
)


def progress(incident: Incident, runbook: Runbook | None) -> tuple[int, int]:
    total = len(runbook.steps()) if runbook else 0
    done = sum(1 for _, step in (runbook.steps() if runbook else []) if step.id in incident.ticks)
    return done, total


def _env_line(incident: Incident) -> str:
    env = incident.environment
    parts = [env.name]
    if env.context:
        parts.append(f"context {env.context}")
    if env.namespace:
        parts.append(f"namespace {env.namespace}")
    if env.production:
        parts.append("PRODUCTION")
    return ", ".join(parts)


def handoff(
    incident: Incident,
    runbook: Runbook | None,
    rules: list[EscalationRule],
    now: datetime,
) -> str:
    """A summary to paste into chat for the next responder (plain text, Slack-friendly)."""
    done, total = progress(incident, runbook)
    lines = [
        f"*{incident.id}* {incident.title}",
        f"State: {incident.state} · Severity: {incident.severity} · "
        f"Elapsed: {duration(incident.elapsed(now))} · Steps: {done}/{total}",
        f"Environment: {_env_line(incident)}",
        f"Started {full_stamp(incident.started_at)} by {incident.started_by}",
    ]
    if runbook:
        open_steps = [s for _, s in runbook.steps() if s.id not in incident.ticks]
        if open_steps:
            lines.append("Open steps:")
            lines.extend(f"  - {s.title}" for s in open_steps[:15])
            if len(open_steps) > 15:
                lines.append(f"  - … and {len(open_steps) - 15} more")
    actions = [e for e in incident.events if e.kind in ACTION_KINDS]
    if actions:
        lines.append("Actions taken:")
        lines.extend(f"  - {stamp(e.ts)} {describe(e, runbook)} ({e.user})" for e in actions)
    if incident.notes:
        lines.append("Notes:")
        lines.extend(f"  - {stamp(e.ts)} {e.user}: {e.data['text']}" for e in incident.notes)
    upcoming = [c for c in countdowns(incident, rules, now) if not c.due]
    if upcoming and incident.is_open:
        c = upcoming[0]
        lines.append(f"Next escalation: {c.label} in {short_duration(c.remaining)}")
    return "\n".join(lines)


def _md(text: str) -> str:
    """Keep user text from turning into Markdown structure in the export."""
    return text.replace("\n", " ").replace("|", "\\|")


def postmortem(incident: Incident, runbook: Runbook | None, now: datetime) -> str:
    """A Markdown post-mortem draft."""
    done, total = progress(incident, runbook)

    def since_start(ts: datetime | None) -> str:
        if ts is None:
            return "not yet"
        return duration((ts - incident.started_at).total_seconds())

    out = [
        f"# Post-mortem draft: {_md(incident.title)}",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        f"| Incident | {incident.id} |",
        f"| Runbook | {_md(runbook.title) + f' (`{runbook.id}`)' if runbook else 'none'} |",
        f"| Severity | {incident.severity} |",
        f"| State | {incident.state} |",
        f"| Environment | {_md(_env_line(incident))} |",
        f"| Started | {full_stamp(incident.started_at)} by {_md(incident.started_by)} |",
        f"| Time to mitigate | {since_start(incident.mitigated_at)} |",
        f"| Time to resolve | {since_start(incident.resolved_at)} |",
        f"| Steps done | {done}/{total} |",
        "",
        "_Impact, root cause and action items: to be written._",
        "",
        "## Timeline",
        "",
        "| Time (UTC) | Who | Event |",
        "|---|---|---|",
    ]
    out.extend(
        f"| {full_stamp(e.ts)} | {_md(e.user)} | {_md(describe(e, runbook))} |"
        for e in incident.events
    )
    if runbook:
        out += ["", "## Steps", ""]
        for section in runbook.sections:
            out.append(f"### {section.title}")
            out.append("")
            for step in section.steps:
                tick = incident.ticks.get(step.id)
                if tick:
                    out.append(f"- [x] {_md(step.title)} — {full_stamp(tick.at)} ({tick.user})")
                    out.extend(f"  - evidence: {_md(item)}" for item in tick.evidence)
                else:
                    out.append(f"- [ ] {_md(step.title)} — not done")
            out.append("")
    out += ["## Notes", ""]
    if incident.notes:
        out.extend(
            f"- {full_stamp(e.ts)} {_md(e.user)}: {_md(e.data['text'])}" for e in incident.notes
        )
    else:
        out.append("_No notes._")
    out += ["", f"_Exported {full_stamp(now)}._", ""]
    return "\n".join(out)
