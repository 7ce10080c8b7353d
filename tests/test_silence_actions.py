"""Silences against a real Alertmanager started on a free loopback port."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sre_tui.actions.silence import SilencePerformer
from sre_tui.backends.alertmanager import AlertmanagerBackend, AlertmanagerError
from sre_tui.core.actions import ActionError, plan_from_json, plan_to_json
from sre_tui.core.incident import EnvInfo
from sre_tui.core.runbook import SilenceAction
from sre_tui.sandbox.backends import (
    ALERTMANAGER_NAMES,
    Service,
    find_binary,
    free_port,
    start_alertmanager,
    wait_ready,
)

ENV = EnvInfo("production", context="prod", namespace="shop", production=True)
CONFIG = """\
route:
  receiver: nowhere
  group_wait: 1s
receivers:
  - name: nowhere
"""


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    binary = find_binary(ALERTMANAGER_NAMES)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Alertmanager is not installed, and CI must have it")
        pytest.skip("Alertmanager not installed (make backends installs it)")
    workdir = tmp_path_factory.mktemp("alertmanager")
    config = workdir / "alertmanager.yml"
    config.write_text(CONFIG)
    service = start_alertmanager(binary, config, workdir)
    try:
        wait_ready(service, timeout=20)
        yield service
    finally:
        service.stop()


@pytest.fixture
def backend(alertmanager: Service) -> AlertmanagerBackend:
    return AlertmanagerBackend(alertmanager.url)


def fire(url: str, **labels: str) -> None:
    now = datetime.now(UTC)
    alert = {
        "labels": labels,
        "annotations": {"summary": "test alert"},
        "startsAt": (now - timedelta(minutes=1)).isoformat(),
        "endsAt": (now + timedelta(minutes=30)).isoformat(),
    }
    httpx.post(f"{url}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()


def server_silence(url: str, silence_id: str) -> dict:
    response = httpx.get(f"{url}/api/v2/silence/{silence_id}", timeout=5)
    response.raise_for_status()
    return response.json()


def action(alertname: str, **changes: object) -> SilenceAction:
    raw = {
        "id": "silence-timeouts",
        "kind": "silence",
        "title": "Silence the timeout alerts",
        "matchers": {"alertname": alertname, "service": "checkout"},
        "duration_minutes": 60,
        "comment": "INC-42: known, mitigating",
        **changes,
    }
    return SilenceAction.model_validate(raw)


def test_silence_then_expire(alertmanager: Service, backend: AlertmanagerBackend) -> None:
    fire(alertmanager.url, alertname="CheckoutTimeouts", service="checkout", pod="checkout-1")
    fire(alertmanager.url, alertname="CheckoutTimeouts", service="payments")  # not matched
    performer = SilencePerformer(backend, ENV, "alice")

    plan = performer.prepare(action("CheckoutTimeouts"), value="30")
    assert plan.before == "none"
    assert plan.after is not None and plan.after.startswith("silenced for 30 min (until ")
    assert plan.confirm_name == "CheckoutTimeouts" and plan.production
    assert not plan.dry_run.available and plan.dry_run.message.startswith("no dry-run")
    assert plan.revertible and plan.revert_note == "expire the silence"
    assert "would silence 1 alert(s) now:" in plan.details
    assert any("CheckoutTimeouts {pod=checkout-1, service=checkout}" in d for d in plan.details)
    assert not any("payments" in d for d in plan.details)

    started = datetime.now(UTC)
    outcome = performer.apply(plan_from_json(plan_to_json(plan)))
    assert outcome.ok, outcome.message
    silence_id = outcome.revert_state["silence_id"]
    assert outcome.after is not None and outcome.after.startswith(f"silence {silence_id} active")

    raw = server_silence(alertmanager.url, silence_id)
    assert raw["status"]["state"] == "active"
    assert raw["createdBy"] == "alice" and raw["comment"] == "INC-42: known, mitigating"
    matchers = {(m["name"], m["value"], m["isRegex"]) for m in raw["matchers"]}
    assert matchers == {("alertname", "CheckoutTimeouts", False), ("service", "checkout", False)}
    ends = datetime.fromisoformat(raw["endsAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=29) < ends - started < timedelta(minutes=31)

    # The alert really is silenced (Alertmanager takes about a second to mark it).
    deadline = time.monotonic() + 10
    while True:
        states = {a.labels.get("service"): a.state for a in backend.alerts()}
        if states.get("checkout") == "suppressed":
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.2)
    assert states["payments"] == "firing"

    revert = performer.prepare_revert(plan, outcome)
    assert revert.before == outcome.after and revert.after == "expired"
    assert revert.state == {"op": "expire", "silence_id": silence_id}
    undone = performer.apply(revert)
    assert undone.ok, undone.message
    assert server_silence(alertmanager.url, silence_id)["status"]["state"] == "expired"
    with pytest.raises(ActionError, match="already expired"):
        performer.prepare_revert(plan, outcome)


def test_existing_silence_shows_as_before_and_conflict_refuses(
    alertmanager: Service, backend: AlertmanagerBackend
) -> None:
    performer = SilencePerformer(backend, ENV, "bob")
    plan = performer.prepare(action("QueueBacklog"))
    assert plan.before == "none" and plan.after.startswith("silenced for 60 min")
    assert any("no alert matches now" in d for d in plan.details)

    now = datetime.now(UTC)
    other = backend.create_silence(
        {"alertname": "QueueBacklog"}, now, now + timedelta(hours=2), "carol", "maintenance"
    )
    outcome = performer.apply(plan)
    assert outcome.conflict and not outcome.ok
    assert outcome.current is not None and outcome.current.startswith("1 active silence until ")
    active = [s for s in backend.silences() if s.state == "active" and s.created_by == "bob"]
    assert active == []  # nothing was created

    again = performer.prepare(action("QueueBacklog"))
    assert again.before == outcome.current
    assert any(
        f"already silenced by {other}" in d and "carol: maintenance" in d for d in again.details
    )
    backend.expire_silence(other)


def test_invalid_duration(backend: AlertmanagerBackend) -> None:
    performer = SilencePerformer(backend, ENV, "alice")
    for value, message in (("0", "1 to 10080 minutes"), ("soon", "not a whole number")):
        with pytest.raises(ActionError, match=message):
            performer.prepare(action("X"), value=value)


def test_backend_errors_are_plain(alertmanager: Service, backend: AlertmanagerBackend) -> None:
    with pytest.raises(AlertmanagerError, match="answered 404"):
        backend.silence("00000000-0000-0000-0000-000000000000")
    with pytest.raises(AlertmanagerError, match="not a silence id"):
        backend.silence("../alerts")
    now = datetime.now(UTC)
    with pytest.raises(AlertmanagerError, match="answered 400"):
        backend.create_silence({"alertname": "X"}, now, now - timedelta(hours=1), "a", "c")

    dead = AlertmanagerBackend(f"http://127.0.0.1:{free_port()}", timeout=2)
    performer = SilencePerformer(dead, ENV, "alice")
    with pytest.raises(ActionError, match=r"cannot read Alertmanager: .* unreachable"):
        performer.prepare(action("X"))
    plan = SilencePerformer(backend, ENV, "alice").prepare(action("Unreachable"))
    outcome = performer.apply(plan)
    assert not outcome.ok and "unreachable" in outcome.message


def test_alerts_still_parse(alertmanager: Service, backend: AlertmanagerBackend) -> None:
    fire(alertmanager.url, alertname="DiskFull", service="db", severity="critical")
    [alert] = [a for a in backend.alerts() if a.name == "DiskFull"]
    assert alert.labels["severity"] == "critical" and alert.state == "firing"
    assert alert.starts_at is not None and alert.fingerprint
