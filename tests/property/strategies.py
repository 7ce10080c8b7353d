"""Shared Hypothesis strategies and helpers for the property suite."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]


def property_settings(
    examples: int, deadline_ms: int, *extra_health_checks: HealthCheck
) -> settings:
    """A module's Hypothesis settings: `examples` per property unless
    SRE_TUI_PROPERTY_EXAMPLES says otherwise; slow examples are not a health failure."""
    return settings(
        max_examples=int(os.environ.get("SRE_TUI_PROPERTY_EXAMPLES", str(examples))),
        deadline=deadline_ms,
        suppress_health_check=[HealthCheck.too_slow, *extra_health_checks],
    )


RUNBOOK_FILES = sorted((REPO / "runbooks").glob("*.yaml"))
MARKDOWN_FILES = sorted((REPO / "tests" / "fixtures" / "markdown").glob("*.md"))

# Pieces an alert label, a --var, a pasted document or a hostile server could carry.
HOSTILE_PIECES = [
    "'",
    '"',
    "`",
    ";",
    "$(id)",
    "`id`",
    "${IFS}",
    "\n",
    "\r\n",
    "}}",
    "{{",
    "{{ namespace }}",
    "{{ 1x }}",
    "\\",
    "#",
    "&",
    "|",
    "*",
    "?",
    "=",
    "..",
    "/",
    "%2e%2e",
    "%2F",
    '"}',
    "=~",
    "!~",
    "} or vector(1)",
    ",",
    " ",
    "\t",
    "~",
    "-",
    "--kubeconfig=/tmp/x",
    "é",
    "日本",
    "\u202e",
    "\u2028",
    "\x00",
    "\x1b[31m",
    "\x9b",
    "\x7f",
    "[@click=app.quit]",
    "[link=https://evil]x[/link]",
    "[bold]",
    ":",
    "- ",
    "!!python/object:os.system",
    "&a",
    "*a",
    "---",
    "\ufeff",
]

hostile_piece = st.sampled_from(HOSTILE_PIECES)
hostile_text = st.one_of(
    st.text(max_size=40),
    hostile_piece,
    st.lists(st.one_of(hostile_piece, st.text(max_size=4)), max_size=8).map("".join),
)

# Anything `json.loads` can produce, including the NaN and Infinity Python accepts.
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
json_value: st.SearchStrategy[Any] = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(hostile_text, st.sampled_from(["name", "value"])), inner, max_size=4
        ),
    ),
    max_leaves=12,
)


def shaped(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """A dict with some of `fields` (each right-shaped or arbitrary), or any JSON value."""
    optional = {key: st.one_of(strategy, json_value) for key, strategy in fields.items()}
    return st.one_of(st.fixed_dictionaries({}, optional=optional), json_value)


class Hang(Exception):
    """An example ran past its wall-clock limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (rather than hang) when the body runs longer than `seconds` (main thread only)."""

    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
