"""Backends failing under a running incident (sandbox/faults.py): for each fault the app
keeps running, the affected pane says what is wrong and since when, the other panes keep
working, and everything recovers by itself once the fault is cleared."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Log

from sre_tui.sandbox.faults import LOGS, PODS
from sre_tui.ui.app import create_app
from sre_tui.ui.screens.alerts import AlertsScreen
from sre_tui.ui.screens.incident import IncidentScreen
from sre_tui.ui.widgets.logs_pane import LogsPane
from sre_tui.ui.widgets.metrics_pane import MetricsPane
from sre_tui.ui.widgets.pods_pane import PodsPane
from tests.uitools import screen_text, wait_until

SINCE = re.compile(r"since \d\d:\d\d:\d\dZ")


@pytest.fixture
def faults(demo) -> Iterator:  # type: ignore[no-untyped-def]
    """The demo's fault plan, cleared after each test whatever happened."""
    yield demo.env.faults
    demo.env.faults.clear()


def incident_app(demo, tmp_path: Path):  # type: ignore[no-untyped-def]
    workspace = demo.workspace(tmp_path / "state")
    active = workspace.start(
        workspace.find_runbook("service-timeout"), given={"deployment": "checkout"}
    )
    return create_app(workspace, active)


async def ready(pilot, app, key: str):  # type: ignore[no-untyped-def]
    """The incident screen with its pods watching and logs streaming; `key` shows a pane."""
    await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen), 10)
    screen = app.screen
    pods, logs = screen.query_one(PodsPane), screen.query_one(LogsPane)
    await wait_until(pilot, lambda: pods.state == "watching" and bool(pods.rows), 30)
    await wait_until(pilot, lambda: len(logs.buffer.lines) > 3, 30)
    await pilot.press(key)
    return screen, pods, logs


def log_lines(logs: LogsPane) -> list[tuple[object, str, str]]:
    return [(line.ts, line.pod, line.text) for line in logs.buffer.lines if not line.marker]


async def test_pods_api_500_is_shown_and_recovers(demo, faults, tmp_path) -> None:
    app = incident_app(demo, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        _screen, pods, logs = await ready(pilot, app, "p")
        faults.error(PODS, 500)
        assert faults.cut_streams(PODS) >= 1  # the watch drops; its re-list gets the 500
        await wait_until(pilot, lambda: "500" in pods.state, 15)
        await wait_until(pilot, lambda: SINCE.search(screen_text(app)) is not None, 5)
        text = screen_text(app)
        assert "API failing since" in text and "500" in text, text
        # The other panes go on: the logs stream (a different path) keeps growing.
        before = len(log_lines(logs))
        await wait_until(pilot, lambda: len(log_lines(logs)) > before, 20)

        faults.clear()
        cleared = time.monotonic()
        await wait_until(pilot, lambda: pods.state == "watching", 20)
        assert pods.failing_since is None
        await wait_until(pilot, lambda: SINCE.search(screen_text(app)) is None, 5)
        recovered = time.monotonic() - cleared
        assert recovered < 20
        # The rows update again: a deleted pod leaves the table through the new watch.
        from kubernetes import client, config

        [victim, *_] = sorted(n for n in pods.rows if n.startswith("checkout-"))
        api = client.CoreV1Api(config.new_client_from_config(config_file=demo.info.kubeconfig))
        api.delete_namespaced_pod(victim, "production")
        await wait_until(pilot, lambda: victim not in pods.rows, 30)
        assert app.is_running


async def test_pods_api_timeout_and_slow_answers(demo, faults, tmp_path) -> None:
    app = incident_app(demo, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        _screen, pods, _logs = await ready(pilot, app, "p")
        app.live.kube.timeout = 1.5  # the client's own request timeout (10 s by default)
        hang = faults.hang(PODS, 30, watch=False)  # lists are held longer than that
        faults.cut_streams(PODS)
        # (The client retries a timed-out read 3 times before it gives up.)
        await wait_until(pilot, lambda: "unreachable" in pods.state, 20)
        await wait_until(pilot, lambda: SINCE.search(screen_text(app)) is not None, 5)
        assert "API failing since" in screen_text(app)
        # Slow but answering: the pane waits for the answer and watches again.
        faults.remove(hang)
        slow = faults.delay(PODS, 1.0, watch=False)
        await wait_until(pilot, lambda: pods.state == "watching", 30)
        assert pods.failing_since is None and pods.rows
        faults.remove(slow)
        assert app.is_running


async def test_forced_410_relists_and_watches_again(demo, faults, tmp_path) -> None:
    app = incident_app(demo, tmp_path)
    log = demo.env.cluster.request_log
    async with app.run_test(size=(140, 40)) as pilot:
        _screen, pods, _logs = await ready(pilot, app, "p")
        rows = set(pods.rows)
        first = len(log)
        faults.expire_next_watch(PODS)  # the watch after the re-list is refused once, too
        assert faults.expire_watches(PODS) >= 1

        def requests() -> list:  # type: ignore[type-arg]
            return [
                r
                for r in log[first:]
                if r.path == "/api/v1/namespaces/production/pods"
                and r.query.get("labelSelector") == "app=checkout"
            ]

        # 410 → re-list → watch (410 again) → re-list → watch that stays open.
        await wait_until(pilot, lambda: sum(not r.watch for r in requests()) >= 2, 20)
        await wait_until(pilot, lambda: requests()[-1].watch, 10)
        await wait_until(pilot, lambda: pods.state == "watching", 10)
        assert set(pods.rows) == rows and pods.failing_since is None


async def test_logs_403_then_cut_stream_resume_without_duplicates(demo, faults, tmp_path) -> None:
    app = incident_app(demo, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        _screen, pods, logs = await ready(pilot, app, "l")
        faults.error(LOGS, 403)
        assert faults.cut_streams(LOGS) >= 1
        await wait_until(pilot, lambda: bool(logs.failing), 15)
        await wait_until(pilot, lambda: "failing since" in screen_text(app), 5)
        # (The cut shows first; the reconnection then meets the 403.)
        await wait_until(pilot, lambda: "403" in screen_text(app), 10)
        assert SINCE.search(screen_text(app))
        assert "stream lost: 403" in "\n".join(logs.query_one(Log).lines)
        # The pods pane is not affected.
        assert pods.state == "watching"

        faults.clear()
        count = len(log_lines(logs))
        await wait_until(pilot, lambda: not logs.failing, 20)
        await wait_until(pilot, lambda: "failing since" not in screen_text(app), 5)
        await wait_until(pilot, lambda: len(log_lines(logs)) > count, 20)
        # A plain cut mid-stream: it reconnects from where it was.
        assert faults.cut_streams(LOGS) >= 1
        count = len(log_lines(logs))
        await wait_until(pilot, lambda: len(log_lines(logs)) > count + 3, 20)
        lines = log_lines(logs)
        assert len(lines) == len(set(lines)), "a resumed stream repeated lines"


async def test_prometheus_garbage_and_error_status(demo, faults, tmp_path) -> None:
    app = incident_app(demo, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen, pods, _logs = await ready(pilot, app, "m")
        metrics = screen.query_one(MetricsPane)
        await wait_until(pilot, lambda: metrics.current("p95_latency") is not None, 60)
        state = metrics.states["p95_latency"]

        for mode, expected in (("garbage", "JSON"), ("error", "503")):
            faults.prometheus = mode
            await wait_until(pilot, lambda: state.error is not None, 15)
            assert expected in state.error or expected.lower() in state.error.lower()
            await wait_until(pilot, lambda: "stale: last good data" in screen_text(app), 5)
            assert SINCE.search(screen_text(app))
            assert metrics.current("p95_latency") is not None  # the last good data stays
            assert pods.state == "watching"
            faults.prometheus = None
            await wait_until(pilot, lambda: state.error is None, 15)
            await wait_until(pilot, lambda: "stale" not in screen_text(app), 5)


async def test_alertmanager_down_and_back(demo, faults, tmp_path) -> None:
    workspace = demo.workspace(tmp_path / "state")
    app = create_app(workspace)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, AlertsScreen), 20)
        alerts = app.screen
        await wait_until(pilot, lambda: alerts.fetched_at is not None, 20)
        faults.stop("alertmanager")
        try:
            await wait_until(pilot, lambda: alerts.error is not None, 15)
            await wait_until(pilot, lambda: SINCE.search(screen_text(app)) is not None, 5)
            assert "⚠" in screen_text(app) and "list from" in screen_text(app)
        finally:
            faults.start("alertmanager")
        await wait_until(pilot, lambda: alerts.error is None, 30)
        await wait_until(pilot, lambda: "⚠" not in screen_text(app), 5)
        assert alerts.error_since is None


def test_control_endpoint_for_headless_demos(demo, faults) -> None:
    """`sre-tui demo --headless` users switch faults through the flag service."""
    import json
    import urllib.error
    import urllib.request

    def call(body: dict | None, token: str | None = demo.info.flag_token) -> dict:
        request = urllib.request.Request(
            f"{demo.info.flags}/api/faults",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {token}"} if token else {}),
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    with pytest.raises(urllib.error.HTTPError) as refused:
        call({"action": "error", "path": PODS}, token=None)
    assert refused.value.code == 401 and not faults.faults
    with pytest.raises(urllib.error.HTTPError) as bad:
        call({"action": "explode"})
    assert bad.value.code == 400

    answer = call({"action": "error", "path": PODS, "status": 403, "watch": False})
    assert [(f["kind"], f["status"]) for f in answer["faults"]] == [("error", 403)]
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api = client.CoreV1Api(config.new_client_from_config(config_file=demo.info.kubeconfig))
    with pytest.raises(ApiException) as denied:
        api.list_namespaced_pod("production")
    assert denied.value.status == 403
    assert call({"action": "prometheus", "mode": "garbage"})["prometheus"] == "garbage"
    with urllib.request.urlopen(f"{demo.info.prometheus}/api/v1/query?query=up") as response:
        assert not response.read().decode("utf-8", "replace").rstrip().endswith("}")

    assert call({"action": "clear"}) == call(None) | {"faults": [], "prometheus": None}
    assert api.list_namespaced_pod("production").items
