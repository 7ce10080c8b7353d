"""Silence matching alerts in Alertmanager for a while; undone by expiring the silence.

The plan shows the silences already covering these matchers (`before`), how long the new
one lasts (`after`) and the alerts it would silence now. `plan.state["op"]` tells `apply`
what to do: "create" a silence or "expire" one (the revert).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sre_tui.backends.alertmanager import AlertmanagerBackend, AlertmanagerError, Silence
from sre_tui.core.actions import Access, ActionError, DryRun, Outcome, Plan
from sre_tui.core.incident import EnvInfo
from sre_tui.core.runbook import SilenceAction
from sre_tui.core.sanitize import inert

MAX_MINUTES = 7 * 24 * 60
NO_ACCESS_REVIEW = "no access review for Alertmanager"
MAX_ALERTS_SHOWN = 20


def _now() -> datetime:
    return datetime.now(UTC)


def minutes_from(value: str | None, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        minutes = int(value.strip())
    except ValueError:
        raise ActionError(f"duration {value!r} is not a whole number of minutes") from None
    if not 1 <= minutes <= MAX_MINUTES:
        raise ActionError(f"duration must be 1 to {MAX_MINUTES} minutes (7 days), not {minutes}")
    return minutes


def matchers_text(matchers: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in matchers.items()) + "}"


class SilencePerformer:
    """Performer for `SilenceAction` (see `sre_tui.actions.Performer`). Blocking."""

    def __init__(
        self,
        alertmanager: AlertmanagerBackend,
        env: EnvInfo,
        user: str,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.alertmanager = alertmanager
        self.env = env
        self.user = user
        self.clock = clock

    # --- Performer ------------------------------------------------------------------------

    def prepare(self, action: SilenceAction, value: str | None = None) -> Plan:
        """`value`: the chosen duration in minutes, else the action's."""
        if not isinstance(action, SilenceAction):
            raise ActionError(f"the silence performer cannot run a {action.kind!r} action")
        minutes = minutes_from(value, action.duration_minutes)
        matchers = dict(action.matchers)
        try:
            alerts = [
                a
                for a in self.alertmanager.alerts()
                if all(a.labels.get(k) == v for k, v in matchers.items())
            ]
            covering = self._covering(matchers, [a.labels for a in alerts])
        except AlertmanagerError as exc:
            raise ActionError(f"cannot read Alertmanager: {exc}") from None
        now = self.clock()
        until = self._when(now + timedelta(minutes=minutes))
        details = [
            f"matchers: {matchers_text(matchers)} (equality, no regex)",
            f"Alertmanager: {self.alertmanager.url}",
            f"created by: {self.user}",
            f"comment: {action.comment}",
        ]
        for silence in covering:
            details.append(
                f"already silenced by {silence.id} until {self._when(silence.ends_at)} "
                f"({silence.created_by}: {silence.comment})"
            )
        if alerts:
            details.append(f"would silence {len(alerts)} alert(s) now:")
            for alert in alerts[:MAX_ALERTS_SHOWN]:
                labels = ", ".join(
                    f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname"
                )
                details.append(f"  {alert.name} {{{labels}}} ({alert.state})")
            if len(alerts) > MAX_ALERTS_SHOWN:
                details.append(f"  … and {len(alerts) - MAX_ALERTS_SHOWN} more")
        else:
            details.append("no alert matches now; the silence also covers alerts that fire later")
        return Plan(
            action_id=action.id,
            kind="silence",
            title=action.title,
            environment=self.env.name,
            context=self.env.context,
            namespace=action.namespace or self.env.namespace,
            production=self.env.production,
            target=f"alerts {matchers_text(matchers)}",
            confirm_name=matchers.get("alertname") or next(iter(matchers.values())),
            subject="silence",
            before=_describe(covering, self._when),
            after=f"silenced for {minutes} min (until {until})",
            dry_run=DryRun.unavailable("silence"),
            access=Access(None, NO_ACCESS_REVIEW),
            revertible=True,
            revert_note="expire the silence",
            details=tuple(inert(line) for line in details),
            state={
                "op": "create",
                "matchers": matchers,
                "duration_minutes": minutes,
                "comment": action.comment,
                "created_by": self.user,
            },
        )

    def apply(self, plan: Plan) -> Outcome:
        op = plan.state.get("op")
        try:
            if op == "create":
                return self._create(plan)
            if op == "expire":
                return self._expire(plan)
        except AlertmanagerError as exc:
            return Outcome(False, str(exc))
        return Outcome(False, f"unknown silence operation {op!r}; nothing done")

    def prepare_revert(self, plan: Plan, outcome: Outcome) -> Plan:
        silence_id = outcome.revert_state.get("silence_id")
        if not silence_id:
            raise ActionError("cannot be reverted: no silence was created")
        try:
            silence = self.alertmanager.silence(str(silence_id))
        except AlertmanagerError as exc:
            raise ActionError(f"cannot read silence {silence_id}: {exc}") from None
        if silence.state == "expired":
            raise ActionError(f"silence {silence_id} has already expired")
        # Same action, environment and object; what changes is the operation.
        return plan.for_revert(
            title=f"Expire silence: {plan.title}",
            subject="",  # `before` reads "silence <id> active until …"
            before=self._state_text(silence),
            after="expired",
            dry_run=DryRun.unavailable("silence"),
            access=Access(None, NO_ACCESS_REVIEW),
            revertible=False,
            revert_note="an expired silence cannot be restored: create a new one",
            details=(
                f"DELETE {self.alertmanager.url}/api/v2/silence/{silence.id}",
                f"matchers: {', '.join(str(m) for m in silence.matchers)}",
            ),
            state={"op": "expire", "silence_id": silence.id},
        )

    # --- helpers --------------------------------------------------------------------------

    def _create(self, plan: Plan) -> Outcome:
        state = plan.state
        matchers: dict[str, str] = dict(state["matchers"])
        alerts = [
            a.labels
            for a in self.alertmanager.alerts()
            if all(a.labels.get(k) == v for k, v in matchers.items())
        ]
        current = _describe(self._covering(matchers, alerts), self._when)
        if current != plan.before:
            return Outcome(
                False,
                f"refused: the silences covering these alerts changed since the dialog opened "
                f"(shown {plan.before}, now {current}); nothing was created",
                conflict=True,
                current=current,
            )
        starts = self.clock()
        ends = starts + timedelta(minutes=int(state["duration_minutes"]))
        silence_id = self.alertmanager.create_silence(
            matchers, starts, ends, str(state["created_by"]), str(state["comment"])
        )
        silence = self.alertmanager.silence(silence_id)
        after = self._state_text(silence)
        revert = {"silence_id": silence_id}
        if silence.state != "active":
            return Outcome(
                False,
                f"silence {silence_id} was created but reads {silence.state or 'no state'}",
                after=after,
                revert_state=revert,
            )
        return Outcome(
            True,
            f"silence {silence_id} created for {matchers_text(matchers)} "
            f"until {self._when(silence.ends_at)}",
            after=after,
            revert_state=revert,
        )

    def _expire(self, plan: Plan) -> Outcome:
        silence_id = str(plan.state["silence_id"])
        current = self._state_text(self.alertmanager.silence(silence_id))
        if current != plan.before:
            return Outcome(
                False,
                f"refused: silence {silence_id} changed since the dialog opened "
                f"(shown {plan.before}, now {current}); nothing was expired",
                conflict=True,
                current=current,
            )
        self.alertmanager.expire_silence(silence_id)
        silence = self.alertmanager.silence(silence_id)
        if silence.state != "expired":
            return Outcome(
                False,
                f"asked to expire silence {silence_id}, but it reads {silence.state}",
                after=silence.state,
            )
        return Outcome(True, f"silence {silence_id} expired", after="expired")

    def _covering(self, matchers: dict[str, str], alerts: list[dict[str, str]]) -> list[Silence]:
        """Active silences that already cover these matchers or a matching alert."""
        found = [
            s
            for s in self.alertmanager.silences()
            if s.state == "active"
            and (s.matches(matchers) or any(s.matches(labels) for labels in alerts))
        ]
        return sorted(found, key=lambda s: (s.ends_at or datetime.max.replace(tzinfo=UTC), s.id))

    def _when(self, ts: datetime | None) -> str:
        if ts is None:
            return "?"
        ts = ts.astimezone(UTC)
        if ts.date() == self.clock().astimezone(UTC).date():
            return ts.strftime("%H:%MZ")
        return ts.strftime("%Y-%m-%d %H:%MZ")

    def _state_text(self, silence: Silence) -> str:
        if silence.state == "expired":
            return f"silence {silence.id} expired"
        return (
            f"silence {silence.id} {silence.state or 'unknown'} until {self._when(silence.ends_at)}"
        )


def _describe(silences: list[Silence], when: Callable[[datetime | None], str]) -> str:
    if not silences:
        return "none"
    last = when(silences[-1].ends_at)
    if len(silences) == 1:
        return f"1 active silence until {last}"
    return f"{len(silences)} active silences, the last until {last}"
