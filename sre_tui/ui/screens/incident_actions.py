"""The incident screen's gated actions: a step's action (a), kill switches (K), a step's
command (x), revert (u) and the timed write mode (W).

Every flow is: check read-only → ask for the value (typed and bounded) → prepare in a
thread (live value, dry-run, access review) → confirm → audit intent → timeline intent →
apply in a thread → audit outcome → timeline outcome → follow the rollout. Nothing runs
without a key press on it, and what runs is the plan that was shown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from sre_tui.core.actions import (
    ActionError,
    DryRun,
    Outcome,
    Plan,
    outcome_to_json,
    plan_to_json,
)
from sre_tui.core.incident import ActionRecord, Event
from sre_tui.core.runbook import CommandAction, RollbackAction, Step, check_value
from sre_tui.core.safety import WRITE_MODE_MINUTES, write_block
from sre_tui.core.sanitize import inert
from sre_tui.core.timefmt import stamp
from sre_tui.ui.dialogs.action_confirm import ActionConfirm
from sre_tui.ui.dialogs.choice import ChoiceDialog
from sre_tui.ui.dialogs.command_output import CommandOutput
from sre_tui.ui.dialogs.confirm import ConfirmDialog
from sre_tui.ui.dialogs.note import TextPrompt

if TYPE_CHECKING:
    from sre_tui.actions.gate import ActionGate

ROLLOUT_TIMEOUT = 600.0  # seconds a followed rollout may take before it is called stuck
ROLLOUT_POLL = 1.0

ACTION_BINDINGS = [
    Binding("a", "step_action", "Action", id="step-action"),
    Binding("x", "run_command", "Run cmd", id="run-command"),
    Binding("K", "kill_switches", "Kill switch", id="kill-switches"),
    Binding("u", "revert", "Revert", id="revert"),
    Binding("W", "write_mode", "Write mode", id="write-mode", show=False),
]


def unexpected(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {inert(str(exc))[:300]} (nothing was applied)"


def step_command(step: Step) -> CommandAction:
    """A step's command as an action: diagnostics marked read-only run on one key."""
    return CommandAction(
        id=f"step-{step.id}",
        kind="command",
        title=f"Run: {step.title}",
        command=step.command or "",
        read_only=step.read_only,
        timeout_seconds=step.command_timeout_seconds,
    )


class GatedActions:
    """Mixed into IncidentScreen (which provides record, notify, incident, active …)."""

    gate: ActionGate | None
    _in_flight: set[str]
    _following: set[str]
    _command_screen: CommandOutput | None

    # Provided by the screen.
    app: Any
    incident: Any
    active: Any
    user: str
    record: Callable[..., Any]
    notify: Callable[..., Any]
    now: Callable[[], Any]
    run_worker: Callable[..., Any]
    _current_step: Callable[[], Step | None]
    show_rollout: Callable[[str], None]  # the pods pane's rollout line
    show_action_markers: Callable[[], None]  # ▲ on the charts where actions landed

    # ---- state ------------------------------------------------------------------------

    def write_blocked(self) -> str | None:
        workspace = self.app.workspace
        return write_block(
            self.incident.environment, workspace.read_only, self.incident.write_until, self.now()
        )

    async def _gate_or_say(self) -> ActionGate | None:
        """The gate, once the environment's clients are built (a key pressed during
        start-up waits for them rather than being dropped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while self.gate is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self.gate is None:
            self._say("Still connecting to the environment; try again in a moment")
        return self.gate

    def _say(self, message: str, *, title: str = "", **kwargs: Any) -> None:
        """A notification whose text may come from a runbook or a server: made inert."""
        kwargs.pop("markup", None)
        self.notify(inert(message), title=inert(title), markup=False, **kwargs)

    def _flow(self, flow: Any) -> None:
        """Run a flow in a worker: a dialog's callback must return at once, or the next
        dialog the flow opens could never receive a key."""
        self.run_worker(flow, exit_on_error=False, group="actions")

    # ---- key actions ------------------------------------------------------------------

    def action_step_action(self) -> None:
        step = self._current_step()
        action = self.active.action(step.action) if step and step.action else None
        if action is None:
            if step is not None and step.command:
                self.action_run_command()
                return
            self._say("The selected step offers no action (K lists the kill switches)")
            return
        self._flow(self.start_action(action))

    def action_run_command(self) -> None:
        step = self._current_step()
        if step is None or not step.command:
            self._say("The selected step has no command", severity="warning")
            return
        self._flow(self.start_action(step_command(step)))

    def action_kill_switches(self) -> None:
        switches = self.kill_switch_list()
        if not switches:
            self._say("No kill switches for this incident", severity="warning")
            return

        async def chosen(action_id: str | None) -> None:
            action = self.active.action(action_id) if action_id else None
            if action is not None:
                self._flow(self.start_action(action))

        choices = [(a.id, f"⚡ {a.title}  [{a.kind}]") for a in switches]
        self.app.push_screen(ChoiceDialog("Kill switches", choices), chosen)

    def kill_switch_list(self) -> list[Any]:
        runbook = self.active.runbook
        own = [a for a in runbook.actions if a.kill_switch] if runbook else []
        ids = {a.id for a in own}
        return own + [k for k in self.active.kill_switches if k.id not in ids]

    def action_revert(self) -> None:
        records = self.revertible_records()
        if not records:
            self._say("Nothing to revert: no applied action that can be undone")
            return

        async def chosen(audit_id: str | None) -> None:
            if audit_id:
                self._flow(self.start_revert(self.incident.actions[audit_id]))

        choices = [(r.audit_id, f"↶ {stamp(r.at)} {r.intent.get('title', '?')}") for r in records]
        self.app.push_screen(ChoiceDialog("Revert which action?", choices), chosen)

    def revertible_records(self) -> list[ActionRecord]:
        done = self.incident.reverted()
        return [
            r
            for r in reversed(self.incident.actions.values())
            if r.state == "applied"
            and r.intent.get("revertible")
            and not r.intent.get("reverts")
            and r.audit_id not in done
        ]

    def action_write_mode(self) -> None:
        if self.app.workspace.read_only:
            self._say(
                "Started with --read-only: write mode cannot be turned on in this session",
                severity="error",
            )
            return
        env = self.incident.environment
        if not env.read_only:
            self._say(f"Environment '{env.name}' is not read-only: actions are enabled")
            return
        if self.incident.writable(self.now()):

            async def close(confirmed: bool | None) -> None:
                if confirmed:
                    await self._set_write_mode(None)

            self.app.push_screen(
                ConfirmDialog("Close write mode?", "Actions are disabled again.", "Close"),
                close,
            )
            return

        async def chosen(minutes: str | None) -> None:
            if not minutes:
                return

            async def confirmed(yes: bool | None) -> None:
                if yes:
                    await self._set_write_mode(int(minutes))

            self.app.push_screen(
                ConfirmDialog(
                    f"Allow changes to '{env.name}' for {minutes} minutes?",
                    "The environment is read-only by configuration. Write mode is "
                    "audited and closes by itself when the time is up.",
                    "Open write mode",
                ),
                confirmed,
            )

        choices = [(str(m), f"{m} minutes") for m in WRITE_MODE_MINUTES]
        self.app.push_screen(ChoiceDialog("Write mode for how long?", choices), chosen)

    async def _set_write_mode(self, minutes: int | None) -> None:
        now = self.now()
        until = now + timedelta(minutes=minutes) if minutes else None
        gate = await self._gate_or_say()
        if gate is None:
            return
        env = self.incident.environment
        plan = Plan(
            action_id="write-mode",
            kind="write-mode",
            title="Write mode" if until else "Close write mode",
            environment=env.name,
            context=env.context,
            namespace=env.namespace,
            production=env.production,
            target=f"environment/{env.name}",
            confirm_name=env.name,
            subject="mode",
            before="writable" if self.incident.writable(now) else "read-only",
            after=f"writable until {until:%H:%M} UTC" if until else "read-only",
            dry_run=DryRun(False, None, "a local switch: nothing is sent to a server"),
        )
        try:
            audit_id = await asyncio.to_thread(gate.begin, plan)
            await asyncio.to_thread(gate.audit.outcome, audit_id, Outcome(True, plan.after or ""))
        except (OSError, ActionError) as exc:
            self._say(f"Write mode unchanged: {exc}", severity="error", markup=False)
            return
        await self.record(lambda: self.incident.write_mode_event(until, self.user, now))

    # ---- flows ------------------------------------------------------------------------

    async def start_action(self, action: Any) -> None:
        read_only_command = action.kind == "command" and action.read_only
        blocked = None if read_only_command else self.write_blocked()
        if blocked:
            self._say(f"{action.title}: {blocked}", severity="error", markup=False)
            return
        gate = await self._gate_or_say()
        if gate is None:
            return
        value = await self._ask_value(action)
        if value is False:
            return
        self._say(f"Reading the live value of {action.title}…", timeout=3, markup=False)
        plan = await self._prepared("Cannot prepare", gate.prepare, action, value or None)
        if plan is None:
            return
        if read_only_command:
            await self.apply_plan(plan)  # a diagnostic: the key press on it was the consent
            return
        await self.confirm_and_apply(plan)

    async def start_revert(self, record: ActionRecord) -> None:
        blocked = self.write_blocked()
        if blocked:
            self._say(f"Revert: {blocked}", severity="error", markup=False)
            return
        gate = await self._gate_or_say()
        if gate is None:
            return
        plan = await self._prepared("Cannot revert", gate.prepare_revert, record)
        if plan is None:
            return
        await self.confirm_and_apply(plan)

    async def _prepared(
        self, failure: str, prepare: Callable[..., Plan], *args: Any
    ) -> Plan | None:
        """Run a performer's preparation in a thread; a failure is said, not raised."""
        try:
            return await asyncio.to_thread(prepare, *args)
        except ActionError as exc:
            self._say(str(exc), title=failure, severity="error")
        except Exception as exc:  # an unexpected answer: say so, nothing was applied
            self._say(unexpected(exc), title=failure, severity="error")
        return None

    async def confirm_and_apply(self, plan: Plan) -> None:
        async def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._flow(self.apply_plan(plan))
            else:
                self._say("Cancelled: nothing changed", timeout=3)

        self.app.push_screen(ActionConfirm(plan, self.write_blocked()), answered)

    async def _ask_value(self, action: Any) -> str | bool | None:
        """The user's value for typed toggles (prefilled with the runbook's); False when
        cancelled, None when the action takes none."""
        kind = action.kind
        if kind in ("env", "configmap"):
            spec = action.value
            what = action.variable if kind == "env" else action.key
            bounds = spec.type
            if spec.min is not None or spec.max is not None:
                bounds += f" {spec.min if spec.min is not None else ''}"
                bounds += f"…{spec.max if spec.max is not None else ''}"
            if spec.choices:
                bounds += f" one of {', '.join(spec.choices)}"
            default = action.to_value

            def problem(text: str) -> str | None:
                return check_value(text, spec)

            title = f"New value for {what} ({bounds})"
        elif kind == "scale":
            default = str(action.replicas)
            bounds = f"{action.min_replicas}…{action.max_replicas}"
            title = f"Replicas for {action.deployment} ({bounds})"

            def problem(text: str) -> str | None:
                if not text.isdigit():
                    return f"{text!r} is not a whole number of replicas"
                if not action.min_replicas <= int(text) <= action.max_replicas:
                    return (
                        f"{text} is outside {action.min_replicas}…{action.max_replicas} "
                        "(the runbook's bounds)"
                    )
                return None
        elif kind == "silence":
            choices = [
                (str(m), f"{m} minutes") for m in sorted({15, 60, 240, action.duration_minutes})
            ]
            return await self._choose(f"Silence for how long? ({action.title})", choices) or False
        else:
            return None
        while True:
            text = await self._prompt(title, default)
            if text is None:
                return False
            if (message := problem(text)) is None:
                return text
            self._say(f"Not applied: {message}", title="Invalid value", severity="error")
            default = text

    def _prompt(self, title: str, value: str) -> asyncio.Future[str | None]:
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.app.push_screen(TextPrompt(title, value=value), future.set_result)
        return future

    def _choose(self, title: str, choices: list[tuple[str, str]]) -> asyncio.Future[str | None]:
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.app.push_screen(ChoiceDialog(title, choices), future.set_result)
        return future

    async def apply_plan(self, plan: Plan) -> None:
        gate = self.gate
        assert gate is not None
        try:
            audit_id = await asyncio.to_thread(gate.begin, plan)
        except ActionError as exc:
            self._say(str(exc), severity="warning", markup=False)
            return
        except OSError as exc:
            self._say(
                f"Audit log not writable, nothing applied: {exc.strerror or exc}",
                title="Not applied",
                severity="error",
            )
            return
        self._in_flight.add(audit_id)
        try:
            await self._record_intent(audit_id, plan)
            if plan.kind == "command":
                self._command_screen = CommandOutput(
                    plan.title, plan.after or "", gate.performer("command").cancel
                )
                self.app.push_screen(self._command_screen)
            outcome = await asyncio.to_thread(gate.finish, audit_id, plan)
        finally:
            self._in_flight.discard(audit_id)
        await self.record(
            lambda: self.incident.action_outcome_event(
                audit_id, outcome_to_json(outcome), self.user, self.now()
            )
        )
        if self._command_screen is not None:  # shown as finished once it is on disk
            # "exit 0 in 0.3 s" says it all; a failure says so first.
            self._command_screen.done(
                outcome.message if outcome.ok else f"failed: {outcome.message}"
            )
            self._command_screen = None
        self._announce(plan, outcome)
        self.show_action_markers()
        if outcome.ok and outcome.follow_rollout:
            self.follow_rollout(outcome.follow_rollout, plan.namespace)

    async def _record_intent(self, audit_id: str, plan: Plan) -> None:
        def build() -> Event:
            return self.incident.action_intent_event(
                audit_id, plan_to_json(plan), self.user, self.now()
            )

        await self.record(build)

    def _announce(self, plan: Plan, outcome: Outcome) -> None:
        if outcome.conflict:
            self._say(
                f"{outcome.message}",
                title="Refused: changed on the server",
                severity="error",
                timeout=30,
                markup=False,
            )
        elif outcome.ok:
            self._say(outcome.message, title=f"Done: {plan.title}", timeout=8, markup=False)
        else:
            self._say(
                outcome.message,
                title=f"Failed: {plan.title}",
                severity="error",
                timeout=30,
                markup=False,
            )

    def command_output(self, line: str) -> None:
        """From the command's thread: one line of output for the open output screen."""
        screen = self._command_screen
        if screen is not None:
            self.app.call_from_thread(screen.write_line, line)

    # ---- rollouts ---------------------------------------------------------------------

    def follow_rollout(self, deployment: str, namespace: str | None) -> None:
        if deployment in self._following:
            return
        self._following.add(deployment)
        self.run_worker(self._follow(deployment, namespace), exit_on_error=False)

    async def _follow(self, deployment: str, namespace: str | None) -> None:
        gate = self.gate
        assert gate is not None
        performer = gate.performer("env")
        started = time.monotonic()
        status = None
        try:
            while time.monotonic() - started < ROLLOUT_TIMEOUT:
                try:
                    status = await asyncio.to_thread(
                        performer.rollout_status, deployment, namespace
                    )
                except Exception as exc:  # a failed read: say so and keep following
                    self.show_rollout(f"rollout {deployment}: cannot read status ({exc})")
                    await asyncio.sleep(ROLLOUT_POLL * 3)
                    continue
                self.show_rollout(f"rollout {deployment}: {status.text}")
                if status.done or status.failed:
                    break
                await asyncio.sleep(ROLLOUT_POLL)
            failed = status.failed if status else None
            done = bool(status and status.done)
            if not done and not failed:
                failed = f"not complete after {ROLLOUT_TIMEOUT / 60:g} minutes"
            text = status.text if status else "no status"
            await self.record(
                lambda: self.incident.rollout_event(
                    deployment, text, done, failed, self.user, self.now()
                )
            )
            if failed:
                self._offer_rollback(deployment, failed)
            else:
                self.show_rollout(f"rollout {deployment}: complete ({text})")
        finally:
            self._following.discard(deployment)

    def _offer_rollback(self, deployment: str, reason: str) -> None:
        rollback = RollbackAction(
            id=f"rollback-{deployment}",
            kind="rollback",
            title=f"Roll back {deployment} to the previous revision",
            deployment=deployment,
        )

        async def answered(yes: bool | None) -> None:
            if yes:
                self._flow(self.start_action(rollback))

        self._say(f"Rollout of {deployment} failed: {reason}", severity="error", timeout=30)
        self.app.push_screen(
            ConfirmDialog(
                f"Rollout of {deployment} failed",
                f"{reason}\nRoll back to the previous revision? (it is confirmed like any action)",
                "Roll back…",
            ),
            answered,
        )
