"""Durations and timestamps as responders read them."""

from __future__ import annotations

from datetime import datetime


def duration(seconds: float) -> str:
    """`0:07:05`, `1:02:00`, `2d 03:00:00` — clock-like, no ambiguity at a glance."""
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


def short_duration(seconds: float) -> str:
    """`45s`, `7m`, `1h 05m` for countdowns and ages."""
    seconds = int(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{sign}{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}h {minutes:02d}m"


def stamp(ts: datetime) -> str:
    """UTC wall-clock time for timelines: `16:45:12Z`."""
    return ts.astimezone(tz=ts.tzinfo).strftime("%H:%M:%SZ")


def full_stamp(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%SZ")
