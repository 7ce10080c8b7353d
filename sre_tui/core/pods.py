"""Pod rows as a responder reads them (kubectl-like status), from plain API dicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sre_tui.core.sanitize import inert


@dataclass(frozen=True)
class PodRow:
    name: str
    status: str  # phase, or the reason that matters (CrashLoopBackOff, Terminating …)
    ready: str  # "1/2"
    restarts: int
    created: datetime | None
    node: str
    all_ready: bool

    def age(self, now: datetime) -> float:
        return (now - self.created).total_seconds() if self.created else 0.0


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def pod_row(pod: dict[str, Any]) -> PodRow:
    """Same status words as `kubectl get pods`: a waiting/terminated reason wins over phase."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    containers = status.get("containerStatuses") or []
    total = len(spec.get("containers") or containers) or len(containers)
    ready = sum(1 for c in containers if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in containers)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for container in containers:
        state = container.get("state") or {}
        waiting = state.get("waiting") or {}
        terminated = state.get("terminated") or {}
        if waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated.get("reason"):
            reason = terminated["reason"]
    if meta.get("deletionTimestamp"):
        reason = "Terminating"
    return PodRow(
        name=inert(str(meta.get("name", "?"))),
        status=inert(str(reason)),
        ready=f"{ready}/{total}",
        restarts=restarts,
        created=_time(meta.get("creationTimestamp")),
        node=inert(str(spec.get("nodeName") or "—")),
        all_ready=total > 0 and ready == total,
    )


def summary(rows: list[PodRow]) -> str:
    """`3 pods, 2 ready, 5 restarts, 1 CrashLoopBackOff` — what a tick records as evidence."""
    if not rows:
        return "no pods"
    ready = sum(1 for r in rows if r.all_ready)
    restarts = sum(r.restarts for r in rows)
    odd: dict[str, int] = {}
    for row in rows:
        if row.status not in ("Running", "Succeeded", "Completed"):
            odd[row.status] = odd.get(row.status, 0) + 1
    parts = [f"{len(rows)} pods", f"{ready} ready", f"{restarts} restarts"]
    parts += [f"{n} {status}" for status, n in sorted(odd.items())]
    return ", ".join(parts)
