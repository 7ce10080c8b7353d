"""Firing alerts and the runbooks that answer them (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sre_tui.core.runbook import Runbook
from sre_tui.core.severity import Severity, SeverityPolicy

# Common `severity` label values → our severities.
LABEL_SEVERITY = {
    "critical": Severity.SEV1,
    "page": Severity.SEV1,
    "high": Severity.SEV2,
    "error": Severity.SEV2,
    "warning": Severity.SEV3,
    "medium": Severity.SEV3,
    "info": Severity.SEV4,
    "low": Severity.SEV4,
}


@dataclass(frozen=True)
class Alert:
    name: str
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    state: str = "firing"  # firing | suppressed | pending
    fingerprint: str = ""
    source: str = "alertmanager"

    @property
    def runbook_url(self) -> str | None:
        return self.annotations.get("runbook_url") or self.annotations.get("runbook")

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or ""


def runbook_id_from_url(url: str) -> str | None:
    """`https://x/runbooks/service-timeout.md#triage` → `service-timeout`."""
    path = re.split(r"[?#]", url, maxsplit=1)[0].rstrip("/")
    segment = path.rsplit("/", 1)[-1]
    stem = segment.rsplit(".", 1)[0] if "." in segment else segment
    return stem or None


def runbook_for(alert: Alert, runbooks: list[Runbook]) -> Runbook | None:
    """By `runbook_url` (last path segment is the id, or a URL the runbook lists), then by
    alert name listed in a runbook's `alerts`."""
    if url := alert.runbook_url:
        wanted = runbook_id_from_url(url)
        for runbook in runbooks:
            if runbook.id == wanted or url in runbook.urls:
                return runbook
    for runbook in runbooks:
        if alert.name in runbook.alerts:
            return runbook
    return None


def severity_of(alert: Alert, policy: SeverityPolicy) -> Severity | None:
    """From a `priority` label (P0–P2 via the policy), else from a `severity` label."""
    priority = alert.labels.get("priority", "").upper()
    if priority in policy.priorities:
        return policy.priorities[priority].severity
    raw = alert.labels.get("severity", "").strip()
    if raw.upper() in Severity.__members__:
        return Severity(raw.upper())
    return LABEL_SEVERITY.get(raw.casefold())
