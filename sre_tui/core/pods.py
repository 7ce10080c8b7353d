"""Pod rows as a responder reads them (kubectl-like status), from plain API dicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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
    # (key, value) pairs, already inert: what `kubectl describe` shows first.
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()

    def age(self, now: datetime) -> float:
        return (now - self.created).total_seconds() if self.created else 0.0


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        # The API always writes UTC; a stamp without a zone must still compare with `now`.
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _obj(value: Any) -> dict[str, Any]:
    """`value` when the API gave an object there, else an empty one (answers are data)."""
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 0
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def pod_row(pod: dict[str, Any]) -> PodRow:
    """Same status words as `kubectl get pods`: a waiting/terminated reason wins over phase."""
    pod = _obj(pod)
    meta = _obj(pod.get("metadata"))
    status = _obj(pod.get("status"))
    spec = _obj(pod.get("spec"))
    raw = status.get("containerStatuses")
    containers = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    spec_containers = spec.get("containers")
    declared = len(spec_containers) if isinstance(spec_containers, list) else 0
    total = declared or len(containers)
    ready = sum(1 for c in containers if c.get("ready"))
    restarts = sum(_count(c.get("restartCount")) for c in containers)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for container in containers:
        state = _obj(container.get("state"))
        waiting = _obj(state.get("waiting"))
        terminated = _obj(state.get("terminated"))
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
        labels=_pairs(meta.get("labels")),
        annotations=_pairs(meta.get("annotations")),
    )


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((inert(str(k)), inert(str(v))) for k, v in _obj(value).items()))


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
