"""The live panes against the demo environment and a real Prometheus/Alertmanager."""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import pexpect
import pytest
from textual.widgets import DataTable, Log

from sre_tui.core.incident import EventKind
from sre_tui.ui.app import create_app
from sre_tui.ui.dialogs.confirm import ConfirmDialog
from sre_tui.ui.screens.alerts import AlertsScreen
from sre_tui.ui.screens.incident import IncidentScreen
from sre_tui.ui.widgets.logs_pane import LogsPane
from sre_tui.ui.widgets.metrics_pane import MetricsPane
from sre_tui.ui.widgets.pods_pane import PodsPane
from tests.uitools import screen_text, wait_until


def start_on_checkout(demo, tmp_path: Path):  # type: ignore[no-untyped-def]
    workspace = demo.workspace(tmp_path / "state")
    loaded = workspace.find_runbook("service-timeout")
    active = workspace.start(loaded, given={"deployment": "checkout"})
    return workspace, active


async def test_alert_starts_incident_with_variables_from_labels(demo, tmp_path) -> None:
    workspace = demo.workspace(tmp_path / "state")
    app = create_app(workspace)
    async with app.run_test(size=(140, 40)) as pilot:

        def firing_row() -> int | None:
            screen = app.screen
            if not isinstance(screen, AlertsScreen):
                return None
            names = [a.name for a in screen.alerts]
            return names.index("ServiceTimeouts") if "ServiceTimeouts" in names else None

        await wait_until(pilot, lambda: firing_row() is not None, timeout=60)
        await wait_until(pilot, lambda: "ServiceTimeouts" in screen_text(app), timeout=10)
        text = screen_text(app)
        assert "ServiceTimeouts" in text and "service-timeout" in text
        assert "deployment=checkout" in text
        app.screen.query_one(DataTable).move_cursor(row=firing_row())
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen), timeout=10)
        incident = app.screen.incident
        assert incident.runbook_id == "service-timeout"
        assert incident.variables["deployment"] == "checkout"
        assert incident.variables["namespace"] == "production"
        started = workspace.store.load(incident.id).incident.events[0]
        assert started.data["alert"]["name"] == "ServiceTimeouts"


async def test_pods_pane_watches_and_follows_a_deletion(demo, tmp_path) -> None:
    from kubernetes import client, config

    workspace, active = start_on_checkout(demo, tmp_path)
    app = create_app(workspace, active)
    log = demo.env.cluster.request_log
    first = len(log)  # other tests' apps watched too: count only this one's requests
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await pilot.press("p")
        pods = app.screen.query_one(PodsPane)
        await wait_until(pilot, lambda: any(n.startswith("checkout-") for n in pods.rows), 20)
        [victim] = [n for n in pods.rows if n.startswith("checkout-")]
        assert victim in screen_text(app)

        core = client.CoreV1Api(config.new_client_from_config(config_file=demo.info.kubeconfig))
        core.delete_namespaced_pod(victim, "production")
        await wait_until(pilot, lambda: victim not in pods.rows, timeout=30)
        await wait_until(pilot, lambda: victim not in screen_text(app), timeout=5)
        # The ReplicaSet's replacement appears by itself, from the same watch.
        await wait_until(pilot, lambda: any(n.startswith("checkout-") for n in pods.rows), 30)

    ours = [
        r
        for r in log[first:]
        if r.path == "/api/v1/namespaces/production/pods"
        and r.query.get("labelSelector") == "app=checkout"
    ]
    lists = [r for r in ours if not r.watch]
    watches = [r for r in ours if r.watch]
    assert watches, "the pods pane must watch"
    assert len(lists) <= 2, f"the pods pane must not poll: {len(lists)} list requests"


async def test_logs_stream_filter_and_highlight(demo, tmp_path) -> None:
    workspace, active = start_on_checkout(demo, tmp_path)
    app = create_app(workspace, active)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await pilot.press("l")
        logs = app.screen.query_one(LogsPane)
        await wait_until(pilot, lambda: "upstream timeout" in screen_text(app), timeout=30)

        # The runbook's pattern (?i)timeout is highlighted in the rendered line.
        view = logs.query_one(Log)
        styled = [
            segment
            for y in range(view.size.height)
            for segment in view.render_line(y)
            if "timeout" in segment.text.lower() and segment.style and segment.style.bold
        ]
        assert styled, "timeout should be highlighted"

        await pilot.press("slash", *"circuit breaker", "enter")
        await wait_until(pilot, lambda: logs.highlighter.filter is not None, 5)
        assert logs.highlighter.filter.pattern == "circuit breaker"
        await wait_until(pilot, lambda: "circuit breaker" in "\n".join(view.lines), 30)
        shown = [line for line in view.lines if "──" not in line]
        assert shown and all("circuit breaker" in line for line in shown)


@pytest.mark.pty
def test_hostile_log_lines_are_inert_on_a_real_terminal(demo, tmp_path) -> None:
    """Escape sequences in pod output must never reach the terminal: checked on the bytes
    the app writes to a real pseudo-terminal."""
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "SRE_TUI_STATE_DIR": str(tmp_path / "state"),
    }
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "sre_tui",
            "run",
            "service-timeout",
            "--config",
            demo.info.config,
            "--env",
            "demo",
            "--var",
            "deployment=checkout",
        ],
        env=env,
        dimensions=(40, 140),
        timeout=40,
    )
    seen = bytearray()
    try:
        child.expect("Check service health")
        child.send("l")
        child.expect("upstream")  # the logs pane is streaming
        demo.hostile.lines = [
            "HOSTILE-1 [bold red]markup[/]\x1b]0;PWNED-TITLE\x07\x1b]52;c;cHduZWQ=\x07"
            "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07\x1b[2J\x1b[H\x9b31m"
            "[@click=app.quit]q[/]",
        ]
        child.expect("HOSTILE-1", timeout=30)
        seen += child.before + child.after
        child.expect(pexpect.TIMEOUT, timeout=3)  # and whatever it writes next
        seen += child.before
    finally:
        demo.hostile.lines = []
        if child.isalive():
            child.kill(signal.SIGKILL)
    raw = bytes(seen)
    for forbidden in (
        b"PWNED-TITLE",
        b"cHduZWQ=",
        b"evil.example",
        b"\x1b]52",
        b"\x1b]0;",
        b"\x1b]8;;https",
    ):
        assert forbidden not in raw, forbidden
    # 8-bit CSI as a character (its byte 0x9b also occurs inside UTF-8 box drawing).
    assert "\x9b" not in raw.decode("utf-8", "replace")
    assert b"[bold red]markup[/]" in raw or re.search(rb"\[bold red\].{0,40}markup", raw)


async def test_prometheus_outage_marks_stale_and_recovers(demo, tmp_path) -> None:
    workspace, active = start_on_checkout(demo, tmp_path)
    app = create_app(workspace, active)
    prometheus = demo.service("prometheus")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await pilot.press("m")
        metrics = app.screen.query_one(MetricsPane)
        await wait_until(pilot, lambda: metrics.current("p95_latency") is not None, 60)
        good = metrics.current("p95_latency")

        prometheus.stop()
        try:
            await wait_until(pilot, lambda: "unreachable" in screen_text(app), timeout=20)
            text = screen_text(app)
            assert "stale: last good data" in text
            assert metrics.current("p95_latency") == good  # the last good data stays
        finally:
            prometheus.restart()
        await wait_until(pilot, lambda: "unreachable" not in screen_text(app), timeout=60)
        assert metrics.states["p95_latency"].error is None


async def test_tick_records_evidence_on_disk(demo, tmp_path) -> None:
    workspace, active = start_on_checkout(demo, tmp_path)
    app = create_app(workspace, active)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        metrics = screen.query_one(MetricsPane)
        pods = screen.query_one(PodsPane)
        await wait_until(pilot, lambda: metrics.current("p95_latency") is not None, 60)
        await wait_until(pilot, lambda: bool(pods.rows), 20)
        # "Check pods are running and ready" focuses the pods pane.
        await pilot.press("down", "space")
        await wait_until(pilot, lambda: "check-pods" in screen.incident.ticks, 5)
        # "Confirm p95 latency" focuses the p95 query.
        await pilot.press("down", "down", "space")
        await wait_until(pilot, lambda: "check-latency" in screen.incident.ticks, 5)
        # "Scale up" verifies p95 < 0.5 s, which does not hold: ticking asks first.
        await wait_until(pilot, lambda: (metrics.current("p95_latency") or 0) > 0.5, 60)
        await pilot.press("down", "down", "space")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), 5)
        assert "does not hold" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert "scale-up" not in screen.incident.ticks
    stored = workspace.store.load(active.incident.id).incident
    assert stored.ticks["check-pods"].evidence[0].startswith("pods: 1 pods, 1 ready")
    assert re.match(
        r"p95 latency [\d.]+ s \((crit|warn|ok)", stored.ticks["check-latency"].evidence[0]
    )
    ticks = [e for e in stored.events if e.kind is EventKind.TICK]
    assert all("evidence" in e.data for e in ticks)


async def test_health_check_probe_through_the_service_proxy(demo, tmp_path) -> None:
    workspace, active = start_on_checkout(demo, tmp_path)
    app = create_app(workspace, active)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        screen = app.screen
        await wait_until(pilot, lambda: screen.live is not None, 10)
        await pilot.press("k", "enter")  # the checks pane; probe the first endpoint
        await wait_until(
            pilot, lambda: any(e.kind is EventKind.CHECK for e in screen.incident.events), 15
        )
        assert "200 OK" in screen_text(app)
    stored = workspace.store.load(active.incident.id).incident
    [check] = [e for e in stored.events if e.kind is EventKind.CHECK]
    assert check.data["check"] == "health" and check.data["status"] == 200
    assert check.data["ok"] is True and check.data["ms"] >= 0


async def test_logs_pause_and_save_to_a_file(demo, tmp_path) -> None:
    workspace, active = start_on_checkout(demo, tmp_path)
    app = create_app(workspace, active)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await pilot.press("l")
        logs = app.screen.query_one(LogsPane)
        logs.save_dir = tmp_path
        view = logs.query_one(Log)
        await wait_until(pilot, lambda: view.line_count > 5, timeout=30)
        await pilot.press("f")  # pause: the view stops, the buffer goes on
        shown = view.line_count
        await wait_until(pilot, lambda: logs.unseen > 0, timeout=20)
        assert view.line_count == shown
        assert "PAUSED" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: any(tmp_path.glob("sre-tui-logs-*.log")), timeout=10)
    [saved] = list(tmp_path.glob("sre-tui-logs-*.log"))
    lines = saved.read_text().splitlines()
    assert len(lines) >= shown and any("checkout" in line or "POST" in line for line in lines)
