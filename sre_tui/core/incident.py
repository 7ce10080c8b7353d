"""Incident state as a fold over an append-only list of events.

Everything a responder does becomes an `Event`; the store writes it to disk, then the UI
applies it. Replaying the same events gives the same incident, which is what makes
`resume` after a crash exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sre_tui.core.severity import Severity


class IncidentState(StrEnum):
    INVESTIGATING = "investigating"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Forward moves, plus re-opening when a fix does not hold.
TRANSITIONS: dict[IncidentState, tuple[IncidentState, ...]] = {
    IncidentState.INVESTIGATING: (IncidentState.MITIGATED, IncidentState.RESOLVED),
    IncidentState.MITIGATED: (IncidentState.RESOLVED, IncidentState.INVESTIGATING),
    IncidentState.RESOLVED: (IncidentState.CLOSED, IncidentState.INVESTIGATING),
    IncidentState.CLOSED: (),
}


class EventKind(StrEnum):
    STARTED = "started"
    TICK = "tick"
    UNTICK = "untick"
    NOTE = "note"
    STATE = "state"
    SEVERITY = "severity"
    ESCALATION = "escalation"
    CHECK = "check"
    ACTION = "action"  # phase "intent" before the call, "outcome" after
    WRITE_MODE = "write-mode"  # a read-only environment opened for writes until a time
    ROLLOUT = "rollout"  # a followed rollout completed, failed or got stuck


class IncidentError(ValueError):
    """A change that the incident's current state does not allow."""


@dataclass(frozen=True)
class Event:
    seq: int
    ts: datetime
    kind: EventKind
    user: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts.isoformat(),
            "kind": self.kind.value,
            "user": self.user,
            "data": self.data,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Event:
        return cls(
            seq=int(raw["seq"]),
            ts=datetime.fromisoformat(raw["ts"]),
            kind=EventKind(raw["kind"]),
            user=str(raw["user"]),
            data=dict(raw.get("data") or {}),
        )


@dataclass(frozen=True)
class EnvInfo:
    """The environment an incident runs against, as shown in its header."""

    name: str
    context: str | None = None
    namespace: str | None = None
    production: bool = False
    read_only: bool = False
    tls_verify: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "context": self.context,
            "namespace": self.namespace,
            "production": self.production,
            "read_only": self.read_only,
            "tls_verify": self.tls_verify,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> EnvInfo:
        return cls(
            name=str(raw.get("name", "")),
            context=raw.get("context"),
            namespace=raw.get("namespace"),
            production=bool(raw.get("production", False)),
            read_only=bool(raw.get("read_only", False)),
            tls_verify=bool(raw.get("tls_verify", True)),
        )


@dataclass(frozen=True)
class Tick:
    at: datetime
    user: str
    evidence: tuple[str, ...] = ()


@dataclass
class ActionRecord:
    """An action as the incident saw it: the intent, and the outcome once it is known."""

    audit_id: str
    intent: dict[str, Any]
    outcome: dict[str, Any] | None = None
    at: datetime | None = None
    user: str = ""

    @property
    def state(self) -> str:
        if self.outcome is None:
            return "outcome unknown"
        if self.outcome.get("conflict"):
            return "refused (changed on the server)"
        return "applied" if self.outcome.get("ok") else "failed"


@dataclass
class Incident:
    id: str
    title: str
    severity: Severity
    started_at: datetime
    started_by: str
    environment: EnvInfo
    runbook_id: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    host: str = ""
    state: IncidentState = IncidentState.INVESTIGATING
    ticks: dict[str, Tick] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    escalations: set[int] = field(default_factory=set)
    actions: dict[str, ActionRecord] = field(default_factory=dict)  # by audit id
    write_until: datetime | None = None

    # ---- building events -------------------------------------------------------------

    @staticmethod
    def start_event(
        *,
        incident_id: str,
        title: str,
        severity: Severity,
        user: str,
        now: datetime,
        environment: EnvInfo,
        runbook_id: str | None,
        variables: dict[str, str],
        host: str = "",
        alert: dict[str, Any] | None = None,
    ) -> Event:
        return Event(
            seq=1,
            ts=now,
            kind=EventKind.STARTED,
            user=user,
            data={
                "id": incident_id,
                "title": title,
                "severity": severity.value,
                "environment": environment.to_json(),
                "runbook_id": runbook_id,
                "variables": dict(variables),
                "host": host,
                **({"alert": alert} if alert else {}),
            },
        )

    def _next(self, kind: EventKind, user: str, now: datetime, **data: Any) -> Event:
        return Event(seq=len(self.events) + 1, ts=now, kind=kind, user=user, data=data)

    def toggle_event(
        self, step_id: str, user: str, now: datetime, evidence: list[str] | None = None
    ) -> Event:
        """Tick (with what was on screen as evidence) or untick a step."""
        if step_id in self.ticks:
            return self._next(EventKind.UNTICK, user, now, step=step_id)
        extra = {"evidence": list(evidence)} if evidence else {}
        return self._next(EventKind.TICK, user, now, step=step_id, **extra)

    def check_event(
        self,
        check_id: str,
        title: str,
        status: int,
        millis: float,
        ok: bool,
        user: str,
        now: datetime,
    ) -> Event:
        return self._next(
            EventKind.CHECK,
            user,
            now,
            check=check_id,
            title=title,
            status=status,
            ms=round(millis),
            ok=ok,
        )

    def note_event(self, text: str, user: str, now: datetime) -> Event:
        text = text.strip()
        if not text:
            raise IncidentError("a note needs some text")
        return self._next(EventKind.NOTE, user, now, text=text)

    def state_event(self, new: IncidentState, user: str, now: datetime) -> Event:
        if new not in TRANSITIONS[self.state]:
            raise IncidentError(f"cannot go from {self.state} to {new}")
        return self._next(EventKind.STATE, user, now, **{"from": self.state.value, "to": new.value})

    def severity_event(self, new: Severity, user: str, now: datetime) -> Event:
        if new == self.severity:
            raise IncidentError(f"severity is already {new}")
        return self._next(
            EventKind.SEVERITY, user, now, **{"from": self.severity.value, "to": new.value}
        )

    def escalation_event(self, index: int, to: str, user: str, now: datetime) -> Event:
        return self._next(EventKind.ESCALATION, user, now, rule=index, to=to)

    def action_intent_event(
        self, audit_id: str, plan: dict[str, Any], user: str, now: datetime
    ) -> Event:
        return self._next(EventKind.ACTION, user, now, phase="intent", audit_id=audit_id, plan=plan)

    def action_outcome_event(
        self, audit_id: str, outcome: dict[str, Any], user: str, now: datetime
    ) -> Event:
        if audit_id not in self.actions:
            raise IncidentError(f"no intent recorded for action {audit_id}")
        return self._next(
            EventKind.ACTION, user, now, phase="outcome", audit_id=audit_id, outcome=outcome
        )

    def write_mode_event(self, until: datetime | None, user: str, now: datetime) -> Event:
        """Open a read-only environment for writes until `until` (None: close it again)."""
        return self._next(
            EventKind.WRITE_MODE, user, now, until=until.isoformat() if until else None
        )

    def rollout_event(
        self, deployment: str, text: str, done: bool, failed: str | None, user: str, now: datetime
    ) -> Event:
        return self._next(
            EventKind.ROLLOUT, user, now, deployment=deployment, text=text, done=done, failed=failed
        )

    def writable(self, now: datetime) -> bool:
        """Whether a timed write mode is open now."""
        return self.write_until is not None and now < self.write_until

    @property
    def unknown_outcomes(self) -> list[ActionRecord]:
        return [r for r in self.actions.values() if r.outcome is None]

    def reverted(self) -> set[str]:
        """Audit ids of actions already undone by an applied revert."""
        return {
            str(r.intent.get("reverts"))
            for r in self.actions.values()
            if r.intent.get("reverts") and r.state == "applied"
        }

    # ---- applying events -------------------------------------------------------------

    @classmethod
    def replay(cls, events: list[Event]) -> Incident:
        if not events or events[0].kind is not EventKind.STARTED:
            raise IncidentError("an incident's first event must be 'started'")
        first = events[0]
        data = first.data
        incident = cls(
            id=str(data["id"]),
            title=str(data["title"]),
            severity=Severity(data["severity"]),
            started_at=first.ts,
            started_by=first.user,
            environment=EnvInfo.from_json(data.get("environment") or {}),
            runbook_id=data.get("runbook_id"),
            variables={str(k): str(v) for k, v in (data.get("variables") or {}).items()},
            host=str(data.get("host", "")),
        )
        incident.events.append(first)
        for event in events[1:]:
            incident.apply(event)
        return incident

    def apply(self, event: Event) -> None:
        if event.seq != len(self.events) + 1:
            raise IncidentError(f"event {event.seq} out of order (expected {len(self.events) + 1})")
        kind, data = event.kind, event.data
        if kind is EventKind.TICK:
            evidence = tuple(str(e) for e in data.get("evidence", ()))
            self.ticks[data["step"]] = Tick(event.ts, event.user, evidence)
        elif kind is EventKind.UNTICK:
            self.ticks.pop(data["step"], None)
        elif kind is EventKind.STATE:
            self.state = IncidentState(data["to"])
            if self.state is IncidentState.MITIGATED and self.mitigated_at is None:
                self.mitigated_at = event.ts
            elif self.state is IncidentState.RESOLVED:
                self.resolved_at = event.ts
                # Resolving without a separate mitigation mitigates at the same moment.
                self.mitigated_at = self.mitigated_at or event.ts
            elif self.state is IncidentState.CLOSED:
                self.closed_at = event.ts
            elif self.state is IncidentState.INVESTIGATING:
                self.resolved_at = None  # re-opened
        elif kind is EventKind.SEVERITY:
            self.severity = Severity(data["to"])
        elif kind is EventKind.ESCALATION:
            self.escalations.add(int(data["rule"]))
        elif kind is EventKind.ACTION:
            audit_id = str(data["audit_id"])
            if data.get("phase") == "intent":
                self.actions[audit_id] = ActionRecord(
                    audit_id, dict(data.get("plan") or {}), None, event.ts, event.user
                )
            elif audit_id in self.actions:
                self.actions[audit_id].outcome = dict(data.get("outcome") or {})
        elif kind is EventKind.WRITE_MODE:
            until = data.get("until")
            self.write_until = datetime.fromisoformat(until) if until else None
        self.events.append(event)

    # ---- reading ---------------------------------------------------------------------

    @property
    def notes(self) -> list[Event]:
        return [e for e in self.events if e.kind is EventKind.NOTE]

    @property
    def is_open(self) -> bool:
        return self.state in (IncidentState.INVESTIGATING, IncidentState.MITIGATED)

    def elapsed(self, now: datetime) -> float:
        """Seconds since start, frozen once the incident is resolved."""
        end = self.resolved_at if self.resolved_at and not self.is_open else now
        return max(0.0, (end - self.started_at).total_seconds())


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_incident_id(now: datetime, suffix: str) -> str:
    """`INC-20261123-1645-3fa2`: sortable, readable aloud, unique with the random suffix."""
    return f"INC-{now:%Y%m%d-%H%M}-{suffix}"
