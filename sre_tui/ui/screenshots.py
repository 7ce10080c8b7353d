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
SIZES = {"80x24": (80, 24), "160x45": (160, 45)}


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
    """Wait until writes, workers and layout have all finished."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
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
