"""Gated actions end to end: through the UI (Pilot), against the demo environment's
Kubernetes API, flag service and a real Alertmanager; verified on the servers, in the
audit log and on the timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from kubernetes import client, config
from textual.widgets import Input

from sre_tui.backends.audit import AuditLog
from sre_tui.core.incident import EventKind
from sre_tui.sandbox.policy import AccessPolicy
from sre_tui.ui.app import create_app
from sre_tui.ui.dialogs.action_confirm import ActionConfirm
from sre_tui.ui.dialogs.choice import ChoiceDialog
from sre_tui.ui.dialogs.command_output import CommandOutput
from sre_tui.ui.dialogs.note import TextPrompt
from sre_tui.ui.screens.incident import IncidentScreen
from sre_tui.ui.widgets.checklist import Checklist
from sre_tui.ui.widgets.metrics_pane import MetricsPane
from sre_tui.ui.widgets.step_detail import StepDetail
from tests.uitools import screen_text, wait_until

NS = "production"


def open_checkout(demo: Any, tmp_path: Path, *, production: bool = True, **env: Any):
    """An app on a service-timeout incident for `checkout`; `env` overrides the
    environment's config (read_only …)."""
    workspace = demo.workspace(tmp_path / "state")
    environment = workspace.environment.model_copy(update={"production": production, **env})
    workspace.environment = environment
    active = workspace.start(
        # A short rate window (Prometheus scrapes every second): p95 follows within seconds.
        workspace.find_runbook("service-timeout"),
        given={"deployment": "checkout", "rate_window": "15s"},
    )
    return workspace, active, create_app(workspace, active)


def apps_api(demo: Any) -> client.AppsV1Api:
    return client.AppsV1Api(config.new_client_from_config(config_file=demo.info.kubeconfig))


def env_value(demo: Any, name: str) -> str | None:
    deployment = apps_api(demo).read_namespaced_deployment("checkout", NS)
    for item in deployment.spec.template.spec.containers[0].env or []:
        if item.name == name:
            return item.value
    return None


def set_env(demo: Any, name: str, value: str) -> None:
    body = {"spec": {"template": {"spec": {"containers": [
        {"name": "checkout", "env": [{"name": name, "value": value}]}
    ]}}}}  # fmt: skip
    apps_api(demo).patch_namespaced_deployment("checkout", NS, body)


def audit_entries(workspace: Any, incident_id: str) -> list[Any]:
    return AuditLog(workspace.audit_path).entries(incident_id)


async def ready(pilot: Any, app: Any) -> IncidentScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen), 10)
    screen = app.screen
    await wait_until(pilot, lambda: screen.gate is not None, 20)
    return screen


async def on_step(pilot: Any, screen: IncidentScreen, step_id: str) -> None:
    checklist = screen.query_one(Checklist)
    checklist.highlighted = checklist.get_option_index(step_id)
    checklist.focus()
    await pilot.pause()


async def open_dialog(pilot: Any, app: Any, key: str, value: str | None = None) -> ActionConfirm:
    """Press `key`; accept (or type) the value prompt; wait for the confirmation."""
    await pilot.press(key)
    await wait_until(
        pilot, lambda: isinstance(app.screen, TextPrompt | ActionConfirm | ChoiceDialog), 10
    )
    if isinstance(app.screen, TextPrompt):
        if value is not None:
            app.screen.query_one(Input).value = value
        await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 20)
    return app.screen


async def choose_kill_switch(pilot: Any, app: Any, action_id: str) -> None:
    await pilot.press("K")
    await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), 5)
    index = [value for value, _ in app.screen.choices].index(action_id)
    app.screen.query_one("#choices").highlighted = index
    await pilot.press("enter")


async def confirm_typed(pilot: Any, app: Any, name: str) -> None:
    dialog = app.screen
    field = dialog.query_one("#typed-confirm", Input)
    field.focus()
    await pilot.press(*name, "enter")
    await wait_until(pilot, lambda: app.screen is not dialog, 10)


async def test_raise_timeout_from_the_checklist_resolves_the_incident_and_reverts(
    demo, tmp_path
) -> None:
    workspace, _active, app = open_checkout(demo, tmp_path)
    assert env_value(demo, "TIMEOUT_THRESHOLD_MS") == "5000"
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await ready(pilot, app)
        await on_step(pilot, screen, "raise-timeout")
        dialog = await open_dialog(pilot, app, "a")
        text = screen_text(app)
        for shown in ("deployment/checkout", "TIMEOUT_THRESHOLD_MS", "5000", "10000"):
            assert shown in text
        assert "PRODUCTION" in text and "Dry-run" in text
        assert dialog.plan.dry_run.available and dialog.plan.dry_run.ok
        assert "✓" in text.split("Dry-run", 1)[1].splitlines()[0]

        # Production: neither a reflexive Enter (Cancel has the focus) nor `y` applies.
        await pilot.press("y")
        assert isinstance(app.screen, ActionConfirm)
        assert env_value(demo, "TIMEOUT_THRESHOLD_MS") == "5000"
        field = dialog.query_one("#typed-confirm", Input)
        await pilot.press(*"checkuot", "enter")  # a typo is refused
        assert isinstance(app.screen, ActionConfirm)
        field.value = ""
        await confirm_typed(pilot, app, "checkout")

        await wait_until(pilot, lambda: env_value(demo, "TIMEOUT_THRESHOLD_MS") == "10000", 20)
        incident = screen.incident
        await wait_until(
            pilot, lambda: any(r.state == "applied" for r in incident.actions.values()), 20
        )
        [entry] = audit_entries(workspace, incident.id)
        assert entry.state == "applied"
        assert entry.intent["before"] == "5000" and entry.intent["after"] == "10000"
        assert entry.intent["user"] == workspace.user and entry.intent["host"] == workspace.host
        # The timeline draws the outcome on its next refresh, not in the same tick.
        await wait_until(pilot, lambda: "Action done" in screen_text(app), 10)

        # The rollout is followed to its end, and the timeout incident is resolved by it.
        def rollout_done() -> bool:
            return any(e.kind is EventKind.ROLLOUT and e.data["done"] for e in incident.events)

        await wait_until(pilot, rollout_done, 90)
        metrics = screen.query_one(MetricsPane)
        await wait_until(pilot, lambda: (metrics.current("p95_latency") or 9) < 0.5, 150)
        assert "▲" in screen_text(app)  # the chart marks when the toggle landed

        # Revert restores the recorded "before", itself confirmed and audited.
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), 5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 20)
        await confirm_typed(pilot, app, "checkout")
        await wait_until(pilot, lambda: env_value(demo, "TIMEOUT_THRESHOLD_MS") == "5000", 20)
        await wait_until(pilot, lambda: len(audit_entries(workspace, incident.id)) == 2, 10)
        revert = audit_entries(workspace, incident.id)[1]
        assert revert.intent["reverts"] == entry.intent["audit_id"]


async def test_cancel_changes_nothing(demo, tmp_path) -> None:
    workspace, _active, app = open_checkout(demo, tmp_path)
    before = apps_api(demo).read_namespaced_deployment("checkout", NS).spec.replicas
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await ready(pilot, app)
        await on_step(pilot, screen, "scale-up")
        await open_dialog(pilot, app, "a")
        await pilot.press("enter")  # Cancel has the focus
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen), 5)
        await open_dialog(pilot, app, "a")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen), 5)
        await pilot.pause(0.5)
        assert apps_api(demo).read_namespaced_deployment("checkout", NS).spec.replicas == before
        assert audit_entries(workspace, screen.incident.id) == []
        assert not screen.incident.actions


async def test_invalid_value_is_refused_before_the_dialog(demo, tmp_path) -> None:
    workspace, _active, app = open_checkout(demo, tmp_path)
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await ready(pilot, app)
        await on_step(pilot, screen, "raise-timeout")
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPrompt), 5)
        app.screen.query_one(Input).value = "10s"
        await pilot.press("enter")
        # Asked again, with the bad value kept to correct; no dialog, nothing read.
        await wait_until(pilot, lambda: isinstance(app.screen, TextPrompt), 5)
        assert app.screen.query_one(Input).value == "10s"
        assert any("not an integer" in n.message for n in app._notifications)
        app.screen.query_one(Input).value = "999999"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPrompt), 5)
        assert any("above the maximum" in n.message for n in app._notifications)
        await pilot.press("escape")
        assert audit_entries(workspace, screen.incident.id) == []


async def test_configmap_kill_switch_applies_once_and_reverts(demo, tmp_path) -> None:
    workspace, _active, app = open_checkout(demo, tmp_path, production=False)
    core = client.CoreV1Api(config.new_client_from_config(config_file=demo.info.kubeconfig))

    def flag() -> str:
        return core.read_namespaced_config_map("feature-flags", NS).data["ai_enabled"]

    assert flag() == "true"
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await ready(pilot, app)
        await choose_kill_switch(pilot, app, "disable-ai-configmap")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPrompt), 5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 20)
        await wait_until(pilot, lambda: "feature-flags" in screen_text(app), 10)
        dialog = app.screen
        dialog.action_confirm()  # a key repeat arriving before the dialog has closed …
        dialog.action_confirm()
        await pilot.press("y", "y")  # … and after: applied once
        await wait_until(pilot, lambda: flag() == "false", 20)
        await wait_until(pilot, lambda: bool(screen.incident.actions), 10)
        await pilot.pause(0.5)
        entries = audit_entries(workspace, screen.incident.id)
        assert len(entries) == 1 and entries[0].state == "applied"

        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), 5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 20)
        await pilot.press("y")
        await wait_until(pilot, lambda: flag() == "true", 20)


async def test_conflicting_change_is_refused_and_shown(demo, tmp_path) -> None:
    workspace, _active, app = open_checkout(demo, tmp_path, production=False)
    set_env(demo, "MAX_RETRIES", "3")
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await ready(pilot, app)
        await on_step(pilot, screen, "raise-retries")
        await open_dialog(pilot, app, "a")
        await wait_until(pilot, lambda: "3" in screen_text(app), 10)
        set_env(demo, "MAX_RETRIES", "4")  # someone else changed it meanwhile
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(screen.incident.actions), 20)
        await wait_until(
            pilot,
            lambda: all(r.outcome is not None for r in screen.incident.actions.values()),
            20,
        )
        assert env_value(demo, "MAX_RETRIES") == "4"  # not overwritten
        [entry] = audit_entries(workspace, screen.incident.id)
        assert entry.state.startswith("refused")
        assert entry.outcome["current"] == "4"
        assert any("4" in n.message for n in app._notifications if "Refused" in (n.title or ""))


async def test_read_only_disables_actions_and_write_mode_lifts_the_config(demo, tmp_path) -> None:
    workspace, _active, app = open_checkout(demo, tmp_path, production=False, read_only=True)
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await ready(pilot, app)
        assert "READ-ONLY" in screen_text(app)
        await on_step(pilot, screen, "scale-up")
        detail = screen.query_one("#middle StepDetail", StepDetail)
        assert "read-only" in str(detail.content)  # the step says why before any key
        await pilot.press("a")
        await pilot.pause(0.3)
        assert isinstance(app.screen, IncidentScreen)
        assert any("read-only" in n.message for n in app._notifications)

        await pilot.press("W")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), 5)
        await pilot.press("enter")  # 5 minutes
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmDialog", 5)
        await pilot.press("tab", "enter")  # from Cancel to "Open write mode"
        await wait_until(pilot, lambda: screen.incident.write_until is not None, 5)
        await wait_until(pilot, lambda: "WRITE MODE" in screen_text(app), 10)
        await open_dialog(pilot, app, "a")
        assert app.screen.block is None
        await pilot.press("escape")
        kinds = [e.intent["kind"] for e in audit_entries(workspace, screen.incident.id)]
        assert kinds == ["write-mode"]

    workspace, _active, app = open_checkout(demo, tmp_path / "locked", production=False)
    workspace.read_only = True  # --read-only: cannot be lifted
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await ready(pilot, app)
        await pilot.press("K")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), 5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, IncidentScreen)
        await pilot.press("W")
        await pilot.pause(0.2)
        assert isinstance(app.screen, IncidentScreen)
        assert any("--read-only" in n.message for n in app._notifications)


async def test_access_review_shows_not_permitted(demo, tmp_path) -> None:
    api = demo.env.kube._api
    workspace, _active, app = open_checkout(demo, tmp_path, production=False)
    api.policy = AccessPolicy(deny=(("patch", "deployments"),))
    try:
        async with app.run_test(size=(140, 44)) as pilot:
            screen = await ready(pilot, app)
            await on_step(pilot, screen, "raise-retries")
            dialog = await open_dialog(pilot, app, "a")
            assert dialog.plan.access.permitted is False
            await wait_until(pilot, lambda: "not permitted" in screen_text(app), 10)
            await pilot.press("y")
            await pilot.pause(0.3)
            assert isinstance(app.screen, ActionConfirm)  # cannot be confirmed
            await pilot.press("escape")
            assert audit_entries(workspace, screen.incident.id) == []
    finally:
        api.policy = AccessPolicy()


async def test_http_kill_switch_against_the_flag_service(demo, tmp_path) -> None:
    import os

    os.environ[demo.info.flag_token_env] = demo.info.flag_token
    workspace, _active, app = open_checkout(demo, tmp_path, production=False)
    headers = {"Authorization": f"Bearer {demo.info.flag_token}"}

    def ai_enabled() -> bool:
        answer = httpx.get(f"{demo.info.flags}/api/flags/ai_enabled", headers=headers)
        return bool(answer.json()["enabled"])

    assert ai_enabled()
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await ready(pilot, app)
        await choose_kill_switch(pilot, app, "disable-ai")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 20)
        text = screen_text(app)
        assert "no dry-run exists for http actions" in text
        assert demo.info.flag_token not in text
        await pilot.press("y")
        await wait_until(pilot, lambda: not ai_enabled(), 20)
        await wait_until(
            pilot,
            lambda: any(r.state == "applied" for r in screen.incident.actions.values()),
            10,
        )
        assert "200" in screen_text(app)  # the response is on the timeline
        log_text = workspace.audit_path.read_text()
        assert demo.info.flag_token not in log_text
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), 5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 20)
        await pilot.press("y")
        await wait_until(pilot, ai_enabled, 20)


async def test_silence_the_incident_alert_and_expire_it(demo, tmp_path) -> None:
    _workspace, _active, app = open_checkout(demo, tmp_path, production=False)

    def silences() -> list[dict[str, Any]]:
        raw = httpx.get(f"{demo.info.alertmanager}/api/v2/silences").json()
        return [s for s in raw if s["comment"].startswith("Known incident")]

    async with app.run_test(size=(140, 44)) as pilot:
        screen = await ready(pilot, app)
        await on_step(pilot, screen, "silence-paging")
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), 5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 20)
        await wait_until(
            pilot, lambda: "no dry-run exists for silence actions" in screen_text(app), 10
        )
        await pilot.press("y")
        await wait_until(
            pilot, lambda: any(s["status"]["state"] == "active" for s in silences()), 20
        )
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), 5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 20)
        await pilot.press("y")
        await wait_until(
            pilot, lambda: all(s["status"]["state"] == "expired" for s in silences()), 20
        )


async def test_scale_restart_and_rollback(demo, tmp_path) -> None:
    _workspace, _active, app = open_checkout(demo, tmp_path, production=False)
    apps = apps_api(demo)
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await ready(pilot, app)
        await on_step(pilot, screen, "scale-up")
        before = apps.read_namespaced_deployment("checkout", NS).spec.replicas
        await open_dialog(pilot, app, "a", value=str(before + 1))
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: apps.read_namespaced_deployment("checkout", NS).spec.replicas == before + 1,
            20,
        )
        # Rollback: a new revision first, then the kill switch returns to the previous one.
        set_env(demo, "MAX_RETRIES", "7")
        await wait_until(pilot, lambda: env_value(demo, "MAX_RETRIES") == "7", 5)
        await choose_kill_switch(pilot, app, "rollback")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 20)
        await wait_until(pilot, lambda: "revision" in screen_text(app), 10)
        await pilot.press("y")
        await wait_until(pilot, lambda: env_value(demo, "MAX_RETRIES") != "7", 20)


async def test_commands_read_only_on_one_key_others_confirmed(demo, tmp_path) -> None:
    _workspace, _active, app = open_checkout(demo, tmp_path, production=False)
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await ready(pilot, app)
        await on_step(pilot, screen, "check-pods")
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandOutput), 10)
        output = app.screen
        await wait_until(pilot, lambda: output.finished, 30)
        assert "checkout-" in screen_text(app)  # kubectl ran against the demo's context
        await pilot.press("escape")
        await wait_until(
            pilot,
            lambda: any(r.state == "applied" for r in screen.incident.actions.values()),
            10,
        )
        await on_step(pilot, screen, "raise-retries")
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirm), 20)
        await wait_until(
            pilot, lambda: "no dry-run exists for command actions" in screen_text(app), 10
        )
        await pilot.press("escape")
