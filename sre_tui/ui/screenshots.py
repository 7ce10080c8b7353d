"""`sre-tui screenshot`: SVGs of the main screens, from a fixed, reproducible incident.

The screens are driven exactly as a user would drive them (keys through the Pilot) against
the shipped runbooks and the example configuration, in a throw-away state directory, with
the clock frozen so the pictures only change when the screens do.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.pilot import Pilot

from sre_tui.backends.config_files import EXAMPLE_CONFIG, LoadedConfig, load_config
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.ui.app import create_app
from sre_tui.workspace import Workspace

FROZEN_START = datetime(2026, 11, 23, 3, 12, 0, tzinfo=UTC)
SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


class FrozenClock:
    """A clock that moves only when told to, so screenshots are reproducible."""

    def __init__(self, start: datetime = FROZEN_START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def offline(loaded: LoadedConfig) -> LoadedConfig:
    """The same configuration with no live sources, so nothing on screen depends on a
    network answer or its timing."""
    offline_envs = {
        name: env.model_copy(
            update={"kubeconfig": None, "prometheus_url": None, "alertmanager_url": None}
        )
        for name, env in loaded.config.environments.items()
    }
    config = loaded.config.model_copy(update={"environments": offline_envs})
    return LoadedConfig(config, loaded.path)


def fixed_workspace(state_dir: Path, env: str = "production") -> Workspace:
    """The example configuration (offline) and shipped runbooks, with a fixed user, host
    and incident id."""
    store = IncidentStore(state_dir, suffix=lambda: "7f3a")
    workspace = Workspace.open(offline(load_config(str(EXAMPLE_CONFIG))), env, store=store)
    workspace.user = "oncall"
    workspace.host = "bastion"
    return workspace


async def drive_to_incident(pilot: Pilot, clock: FrozenClock) -> None:
    """From the runbook list to an incident seven minutes in: two ticks and a note."""
    app = pilot.app
    await settle(pilot)  # the runbook list has been read
    await pilot.press(*"service-timeout", "enter")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    clock.advance(7 * 60 + 5)
    await pilot.press("space", "down", "space")
    await pilot.pause()
    await pilot.press("n", *"p95 1.8s since 03:05, matches the 03:04 deploy", "enter")
    await pilot.pause()
    await pilot.press("down", "down")
    await settle(pilot)


async def settle(pilot: Pilot) -> None:
    """Wait until writes, workers and layout have all finished (twice: a worker's result
    can start another round of work, e.g. the runbook list filling its table)."""
    for _ in range(2):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()


async def _capture(out: Path, size: tuple[int, int], label: str) -> list[Path]:
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="sre-tui-shots-") as tmp:
        clock = FrozenClock()
        app = create_app(fixed_workspace(Path(tmp)), clock=clock)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            written.append(Path(app.save_screenshot(f"picker-{label}.svg", str(out))))
            await drive_to_incident(pilot, clock)
            written.append(Path(app.save_screenshot(f"incident-{label}.svg", str(out))))
            await pilot.press("H")
            await settle(pilot)
            written.append(Path(app.save_screenshot(f"handoff-{label}.svg", str(out))))
    return written


def write_screenshots(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for label, size in SIZES.items():
        written.extend(asyncio.run(_capture(out, size, label)))
    return written


async def _until(pilot: Pilot, condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if condition():
            return True
        await pilot.pause(0.2)
    return False


async def _capture_demo(out: Path, info: object) -> list[Path]:
    from sre_tui.ui.dialogs.action_confirm import ActionConfirm
    from sre_tui.ui.dialogs.note import TextPrompt
    from sre_tui.ui.screens.alerts import AlertsScreen
    from sre_tui.ui.screens.incident import IncidentScreen
    from sre_tui.ui.widgets.metrics_pane import MetricsPane

    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="sre-tui-shots-") as tmp:
        loaded = load_config(info.config)  # type: ignore[attr-defined]
        workspace = Workspace.open(loaded, "demo", store=IncidentStore(Path(tmp)))
        workspace.user = "oncall"
        app = create_app(workspace)
        async with app.run_test(size=(160, 48)) as pilot:
            await _until(
                pilot,
                lambda: (
                    isinstance(app.screen, AlertsScreen)
                    and any(a.name == "ServiceTimeouts" for a in app.screen.alerts)
                ),
                90,
            )
            await pilot.pause(1)  # streams never complete: no waiting for workers
            written.append(Path(app.save_screenshot("demo-alerts-160x48.svg", str(out))))
            screen = app.screen
            row = next(i for i, a in enumerate(screen.alerts) if a.name == "ServiceTimeouts")
            screen.query_one("DataTable").move_cursor(row=row)
            await pilot.press("enter")
            await _until(pilot, lambda: isinstance(app.screen, IncidentScreen), 15)
            await pilot.press("space", "down", "space")
            await pilot.press("m")
            await _until(
                pilot, lambda: app.screen.query_one(MetricsPane).current("p95_latency"), 60
            )
            await pilot.pause(1)  # streams never complete: no waiting for workers
            written.append(Path(app.save_screenshot("demo-metrics-160x48.svg", str(out))))
            await pilot.press("l")
            await pilot.pause(3)
            written.append(Path(app.save_screenshot("demo-logs-160x48.svg", str(out))))
            await pilot.press("p")
            await pilot.pause(1)
            written.append(Path(app.save_screenshot("demo-pods-160x48.svg", str(out))))
            # The confirmation of the runbook's toggle: live value, diff, dry-run, access.
            checklist = app.screen.query_one("#checklist")
            checklist.highlighted = checklist.get_option_index("raise-timeout")
            checklist.focus()
            await pilot.press("a")
            await _until(pilot, lambda: isinstance(app.screen, TextPrompt), 15)
            await pilot.press("enter")
            await _until(pilot, lambda: isinstance(app.screen, ActionConfirm), 30)
            await pilot.pause(0.5)
            written.append(Path(app.save_screenshot("demo-action-160x48.svg", str(out))))
            await pilot.press("escape")
    return written


def write_demo_screenshots(out: Path) -> list[Path]:
    """The app on a running demo environment (live data, so not byte-reproducible)."""
    import os

    from sre_tui.sandbox import demo

    out.mkdir(parents=True, exist_ok=True)
    child, info = demo.start_child(["--speed=5"])
    try:
        os.environ[info.flag_token_env] = info.flag_token
        return asyncio.run(_capture_demo(out, info))
    finally:
        demo.stop_child(child)
