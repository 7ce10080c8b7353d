"""The selected step: what to do, the command, what to expect, links, the action offered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.widgets import Static

from sre_tui.core.incident import Incident
from sre_tui.core.metrics import format_value, verify_holds
from sre_tui.core.runbook import Runbook, Step
from sre_tui.core.sanitize import inert, inert_block
from sre_tui.core.timefmt import full_stamp


def _action_summary(action: object) -> str:
    kind = getattr(action, "kind", "")
    if kind in ("env", "configmap"):
        where = getattr(action, "deployment", None) or getattr(action, "configmap", "")
        name = getattr(action, "variable", None) or getattr(action, "key", "")
        before = getattr(action, "from_value", None)
        arrow = f"{before} → " if before is not None else "→ "
        return f"{kind}: {where} {name} {arrow}{action.to_value}"  # type: ignore[attr-defined]
    if kind == "scale":
        return f"scale: {action.deployment} to {action.replicas} replicas"  # type: ignore[attr-defined]
    if kind in ("restart", "rollback"):
        return f"{kind}: deployment {action.deployment}"  # type: ignore[attr-defined]
    if kind == "http":
        return f"http: {action.method} {action.url}"  # type: ignore[attr-defined]
    if kind == "command":
        return f"command: {action.command}"  # type: ignore[attr-defined]
    if kind == "silence":
        matchers = ", ".join(f"{k}={v}" for k, v in action.matchers.items())  # type: ignore[attr-defined]
        return f"silence: {matchers}"
    return str(kind)


class StepDetail(Static):
    """Rendered as plain Text: runbook text is never read as markup."""

    def show(
        self,
        step: Step | None,
        runbook: Runbook,
        incident: Incident,
        find_action: Callable[[str], Any | None],
        current: Callable[[str], float | None] = lambda _: None,
        blocked: str | None = None,
    ) -> None:
        if step is None:
            self.update(Text(inert_block(runbook.summary or runbook.title), style="dim"))
            return
        out = Text()
        out.append(inert(step.title), style="bold")
        tick = incident.ticks.get(step.id)
        if tick:
            out.append(f"\n✓ done {full_stamp(tick.at)} by {inert(tick.user)}", style="green")
        if step.text:
            out.append(f"\n{inert_block(step.text.strip())}")
        if step.command:
            out.append("\n\nCommand", style="bold underline")
            out.append("  (c copies)", style="dim")
            out.append(f"\n$ {inert_block(step.command.strip())}", style="bold")
            if step.read_only:
                out.append("\nread-only diagnostic: x runs it", style="green")
            else:
                out.append("\nx runs it after a confirmation", style="dim")
        if step.expect:
            out.append("\n\nExpected", style="bold underline")
            out.append(f"\n{inert_block(step.expect.strip())}")
        if step.verify:
            bound = (
                f"below {step.verify.below:g}"
                if step.verify.below is not None
                else f"above {step.verify.above:g}"
            )
            query = runbook.query(step.verify.query)
            title = query.title if query else step.verify.query
            unit = f" {query.unit}" if query and query.unit else ""
            out.append(f"\n\nGoal: {inert(title)} {bound}{inert(unit)}", style="italic")
            value = current(step.verify.query)
            holds = verify_holds(value, step.verify)
            now = format_value(value, query.unit if query else "")
            if holds is True:
                out.append(f"\n✓ holds now ({now})", style="bold green")
            elif holds is False:
                out.append(f"\n✗ does not hold now ({now})", style="bold red")
            else:
                out.append("\n? no data yet", style="dim")
        if step.focus:
            target = step.focus.query or step.focus.check or step.focus.filter or ""
            out.append(f"\nEvidence: {step.focus.pane} {inert(target)}".rstrip(), style="dim")
        if step.action and (action := find_action(step.action)):
            out.append("\n\nAction", style="bold underline")
            out.append(f"\n⚡ {inert(action.title)}\n   {inert(_action_summary(action))}")
            if blocked:
                out.append(f"\n⛔ {blocked}", style="bold red")
            else:
                out.append("\na: review the live value and dry-run, then confirm", style="dim")
        if step.links:
            out.append("\n\nLinks", style="bold underline")
            for link in step.links:
                out.append(
                    inert(f"• {link.title}" + (f"  {link.url}" if link.url else "")).join(
                        ["\n", ""]
                    )
                )
        self.update(out)
