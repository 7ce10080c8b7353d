"""What an action will do, and what it did: the plan a confirmation dialog shows and the
outcome the timeline and the audit log record.

Pure data. The performers in `sre_tui/actions/` read the live value, ask the server for a
dry-run and an access review, and fill a `Plan`; applying it gives an `Outcome`. A plan
carries everything applying and reverting need (`state`), so what runs is exactly what
was shown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

# Kinds whose effect is a change to a Deployment: the app follows their rollout.
ROLLOUT_KINDS = frozenset({"env", "scale", "restart", "rollback"})
KUBE_KINDS = frozenset({"env", "scale", "restart", "rollback", "configmap"})
NO_DRY_RUN = "no dry-run exists for {kind} actions: the first call is the real one"


class ActionError(Exception):
    """An action could not be prepared or applied; the message is for the user."""


@dataclass(frozen=True)
class DryRun:
    """The server's verdict on the change, or a plain statement that there is none."""

    available: bool
    ok: bool | None = None
    message: str = ""

    @classmethod
    def unavailable(cls, kind: str) -> DryRun:
        return cls(False, None, NO_DRY_RUN.format(kind=kind))


@dataclass(frozen=True)
class Access:
    """The answer of an access review (SelfSubjectAccessReview) for the change."""

    permitted: bool | None  # None: the question could not be asked (no review API)
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    action_id: str
    kind: str
    title: str
    environment: str
    context: str | None
    namespace: str | None
    production: bool
    target: str  # the exact object, e.g. "deployment/checkout container checkout"
    confirm_name: str  # what a production confirmation must type (the object's name)
    subject: str  # what changes, e.g. "env TIMEOUT_THRESHOLD_MS" or "replicas"
    before: str | None  # the live value read from the server; None: unknown or unset
    after: str | None  # the new value; None: unset / removed
    dry_run: DryRun
    access: Access = Access(None)
    revertible: bool = False
    revert_note: str = ""  # how it is undone, or why it cannot be
    details: tuple[str, ...] = ()  # extra lines: rollback target, HTTP request, command
    state: dict[str, Any] = field(default_factory=dict)  # what apply/revert need; no secrets
    reverts: str | None = None  # audit id of the action this plan undoes
    before_known: bool = True  # False: the current value cannot be read (say so)

    @property
    def blocked(self) -> str | None:
        """Why the plan must not be confirmed, if it must not."""
        if self.access.permitted is False:
            return f"not permitted: {self.access.reason}".rstrip(": ")
        if self.dry_run.available and self.dry_run.ok is False:
            return f"the server's dry-run refused it: {self.dry_run.message}"
        return None

    def summary(self) -> str:
        """One line for the timeline and the audit log."""
        change = f"{_show(self.before, self.before_known)} → {_show(self.after)}"
        return f"{self.title}: {self.target} {self.subject} {change}".replace("  ", " ")

    def for_revert(self, **changes: Any) -> Plan:
        return replace(self, **changes)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str  # what happened, for the timeline: "server now has TIMEOUT_THRESHOLD_MS=10000"
    after: str | None = None  # the value read back from the server after applying
    response: str = ""  # an HTTP response or command output excerpt (inert text)
    conflict: bool = False  # refused: the object changed since the dialog opened
    current: str | None = None  # with conflict: the value found on the server instead
    revert_state: dict[str, Any] = field(default_factory=dict)  # what undoing needs
    follow_rollout: str | None = None  # deployment name whose rollout the app follows


def _show(value: str | None, known: bool = True) -> str:
    if not known:
        return "unknown"
    return "(unset)" if value is None else value


def show_value(value: str | None, known: bool = True) -> str:
    return _show(value, known)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return asdict(plan)


def plan_from_json(raw: dict[str, Any]) -> Plan:
    data = dict(raw)
    data["dry_run"] = DryRun(**data.get("dry_run", {"available": False}))
    data["access"] = Access(**data.get("access", {"permitted": None}))
    data["details"] = tuple(data.get("details", ()))
    return Plan(**data)


def outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    return asdict(outcome)


def outcome_from_json(raw: dict[str, Any]) -> Outcome:
    return Outcome(**raw)
