"""What the main screens look like, at 80×24 and on a large terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre_tui.ui.app import create_app
from sre_tui.ui.screenshots import FrozenClock, drive_to_incident, fixed_workspace, settle

SIZES = [(80, 24), (160, 48)]


def _app(state: Path, clock: FrozenClock, env: str = "production"):
    return create_app(fixed_workspace(state, env=env), clock=clock)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_picker(snap_compare, isolated_state: Path, size) -> None:
    assert snap_compare(_app(isolated_state, FrozenClock()), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_incident_production(snap_compare, isolated_state: Path, size) -> None:
    clock = FrozenClock()

    async def run_before(pilot) -> None:
        await drive_to_incident(pilot, clock)

    app = _app(isolated_state, clock)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_incident_staging_filtered_picker(snap_compare, isolated_state: Path) -> None:
    async def run_before(pilot) -> None:
        await pilot.press(*"latency")
        await settle(pilot)

    app = _app(isolated_state, FrozenClock(), env="staging")
    assert snap_compare(app, run_before=run_before)


def test_handoff(snap_compare, isolated_state: Path) -> None:
    clock = FrozenClock()

    async def run_before(pilot) -> None:
        await drive_to_incident(pilot, clock)
        await pilot.press("H")
        await settle(pilot)

    assert snap_compare(_app(isolated_state, clock), run_before=run_before)


def test_help(snap_compare, isolated_state: Path) -> None:
    clock = FrozenClock()

    async def run_before(pilot) -> None:
        await drive_to_incident(pilot, clock)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(_app(isolated_state, clock), run_before=run_before)
