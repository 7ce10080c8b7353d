"""The one way an action reaches a server: prepared by its performer, audited before the
call and after it, applied at most once. Blocking: call from worker threads.

The screen records the same intent and outcome on the incident timeline; the order is
audit intent → timeline intent → call → audit outcome → timeline outcome, so a crash at
any point leaves an intent whose outcome is shown as unknown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sre_tui.actions import Performer
from sre_tui.backends.audit import AuditLog
from sre_tui.core.actions import (
    ActionError,
    Outcome,
    Plan,
    outcome_from_json,
    plan_from_json,
)
from sre_tui.core.incident import ActionRecord
from sre_tui.core.sanitize import inert

log = logging.getLogger(__name__)

KUBE = ("env", "scale", "restart", "rollback", "configmap")


class ActionGate:
    def __init__(
        self,
        audit: AuditLog,
        *,
        incident_id: str,
        user: str,
        host: str,
        performers: dict[str, Callable[[], Performer]],
        missing: dict[str, str] | None = None,
    ) -> None:
        """`performers` build a performer per kind on first use; `missing` says why a
        kind has none (no Kubernetes connection, no Alertmanager …)."""
        self.audit = audit
        self.incident_id = incident_id
        self.user = user
        self.host = host
        self._factories = performers
        self._built: dict[str, Performer] = {}
        self._missing = missing or {}
        self._lock = threading.Lock()
        self._used: list[Plan] = []  # plans already applied: a second confirm is refused

    def performer(self, kind: str) -> Performer:
        with self._lock:
            if kind in self._built:
                return self._built[kind]
            factory = self._factories.get(kind)
            if factory is None:
                reason = self._missing.get(kind, f"no performer for '{kind}' actions")
                raise ActionError(f"cannot run {kind} actions: {reason}")
            built = self._built[kind] = factory()
            return built

    def prepare(self, action: Any, value: str | None = None) -> Plan:
        return self.performer(action.kind).prepare(action, value)

    def prepare_revert(self, record: ActionRecord) -> Plan:
        if record.outcome is None or not record.outcome.get("ok"):
            raise ActionError("only an action that was applied can be reverted")
        plan = plan_from_json(record.intent)
        if not plan.revertible:
            raise ActionError(f"{plan.title} cannot be undone: {plan.revert_note}")
        outcome = outcome_from_json(record.outcome)
        revert = self.performer(plan.kind).prepare_revert(plan, outcome)
        return revert.for_revert(reverts=record.audit_id)

    def begin(self, plan: Plan) -> str:
        """Claim the plan (at most once) and write the intent; returns the audit id."""
        with self._lock:
            if any(p is plan for p in self._used):
                raise ActionError("this confirmation was already used: nothing applied twice")
            self._used.append(plan)
        audit_id = self.audit.intent(
            incident_id=self.incident_id, user=self.user, host=self.host, plan=plan
        )
        # What and where, never the plan's state or details (requests, headers).
        log.info(
            "action %s (%s) by %s in %s/%s ns %s: %s",
            audit_id,
            plan.kind,
            self.user,
            plan.environment,
            plan.context or "-",
            plan.namespace or "-",
            plan.summary(),
        )
        return audit_id

    def finish(self, audit_id: str, plan: Plan) -> Outcome:
        """Apply, then write the outcome; a performer's failure becomes a failed outcome."""
        try:
            outcome = self.performer(plan.kind).apply(plan)
        except ActionError as exc:
            outcome = Outcome(False, str(exc))
        except Exception as exc:  # the audit log must say what happened, whatever it was
            outcome = Outcome(False, f"{exc.__class__.__name__}: {inert(str(exc))[:300]}")
        self.audit.outcome(audit_id, outcome)
        log.log(
            logging.INFO if outcome.ok else logging.WARNING,
            "action %s %s: %s",
            audit_id,
            "done" if outcome.ok else "failed",
            outcome.message,
        )
        return outcome


def build_gate(
    workspace: Any, incident: Any, live: Any, on_output: Callable[[str], None]
) -> ActionGate:
    """The gate for one incident: performers for the kinds this environment can reach,
    and the reason for those it cannot."""
    env = incident.environment
    environment = workspace.environment
    performers: dict[str, Callable[[], Performer]] = {}
    missing: dict[str, str] = {}
    if live.kube is not None:

        def kube() -> Performer:
            from sre_tui.actions.kube import KubePerformer

            return KubePerformer(live.kube, env)

        shared: list[Performer] = []

        def kube_shared() -> Performer:  # one performer for every Kubernetes kind
            if not shared:
                shared.append(kube())
            return shared[0]

        performers.update(dict.fromkeys(KUBE, kube_shared))
    else:
        missing.update(dict.fromkeys(KUBE, live.kube_reason or "no Kubernetes connection"))

    def http() -> Performer:
        from sre_tui.actions.http import HttpPerformer

        return HttpPerformer(env)

    performers["http"] = http
    from sre_tui.backends.alertmanager import AlertmanagerBackend

    if isinstance(live.alerts, AlertmanagerBackend):

        def silence() -> Performer:
            from sre_tui.actions.silence import SilencePerformer

            return SilencePerformer(live.alerts, env, workspace.user)

        performers["silence"] = silence
    else:
        missing["silence"] = "silences need Alertmanager (alertmanager_url in the environment)"

    def command() -> Performer:
        from sre_tui.actions.command import CommandPerformer

        return CommandPerformer(
            env,
            environment.kubeconfig if environment else None,
            environment.context if environment else None,
            on_output=on_output,
        )

    performers["command"] = command
    return ActionGate(
        AuditLog(workspace.audit_path),
        incident_id=incident.id,
        user=workspace.user,
        host=workspace.host,
        performers=performers,
        missing=missing,
    )
