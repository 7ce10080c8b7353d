"""Whether mutating actions may run now, and why not: read-only by flag or by config,
and the timed write mode that lifts the config's read-only for a while."""

from __future__ import annotations

from datetime import datetime

from sre_tui.core.incident import EnvInfo

WRITE_MODE_MINUTES = (5, 15, 30, 60)


def write_block(
    env: EnvInfo, locked_read_only: bool, write_until: datetime | None, now: datetime
) -> str | None:
    """The reason writes are disabled now, or None when they are allowed."""
    if locked_read_only:
        return "read-only: started with --read-only (cannot be lifted in this session)"
    if env.read_only and not (write_until is not None and now < write_until):
        return f"read-only: environment '{env.name}' is read-only by config (W: timed write mode)"
    return None


def write_mode_left(write_until: datetime | None, now: datetime) -> float | None:
    """Seconds of write mode left, None when none is open."""
    if write_until is None or now >= write_until:
        return None
    return (write_until - now).total_seconds()
