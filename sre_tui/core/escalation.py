"""Escalation countdowns from incident start: runbook rules first, then config policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sre_tui.core.incident import Incident
from sre_tui.core.runbook import EscalationRule


@dataclass(frozen=True)
class Countdown:
    index: int  # position in the combined rule list; stable across resume
    rule: EscalationRule
    remaining: float  # seconds; <= 0 means due

    @property
    def due(self) -> bool:
        return self.remaining <= 0

    @property
    def label(self) -> str:
        how = f" via {self.rule.via}" if self.rule.via else ""
        contact = f" ({self.rule.contact})" if self.rule.contact else ""
        return f"{self.rule.to}{how}{contact}"


def combined_rules(
    runbook_rules: list[EscalationRule], policy_rules: list[EscalationRule]
) -> list[EscalationRule]:
    """Runbook rules, then policy rules whose target the runbook does not already name."""
    named = {r.to.casefold() for r in runbook_rules}
    return [*runbook_rules, *(r for r in policy_rules if r.to.casefold() not in named)]


def countdowns(incident: Incident, rules: list[EscalationRule], now: datetime) -> list[Countdown]:
    """Rules that apply to the incident's severity, soonest first."""
    elapsed = (now - incident.started_at).total_seconds()
    result = []
    for index, rule in enumerate(rules):
        if rule.severities and incident.severity not in rule.severities:
            continue
        after = (rule.after_minutes or 0) * 60
        result.append(Countdown(index, rule, after - elapsed))
    return sorted(result, key=lambda c: (c.remaining, c.index))


def newly_due(incident: Incident, rules: list[EscalationRule], now: datetime) -> list[Countdown]:
    """Due countdowns not yet recorded, while the incident is still open."""
    if not incident.is_open:
        return []
    done = incident.escalations
    return [c for c in countdowns(incident, rules, now) if c.due and c.index not in done]
