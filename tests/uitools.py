"""Helpers for Pilot tests: read the screen as a user sees it, wait for conditions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot


def screen_text(app: App) -> str:
    """The visible characters of the current screen, one line per row."""
    update = app.screen._compositor.render_full_update(simplify=True)
    rows = []
    for row in update.strips:
        rows.append("".join(segment.text for strip in row for segment in strip))
    return "\n".join(rows)


async def wait_until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until `condition` holds (never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.02)
