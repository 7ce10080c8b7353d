"""Run the parts, print the table, write the JSON."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from sre_tui.bench.report import Part, document, table, write_json
from sre_tui.bench.term import BenchError


def _startup(quick: bool) -> Part:
    from sre_tui.bench import startup

    return startup.run(quick)


def _logs(quick: bool) -> Part:
    from sre_tui.bench import logs

    return logs.run(quick)


def _pods(quick: bool) -> Part:
    from sre_tui.bench import pods

    return pods.run(quick)


def _idle(quick: bool) -> Part:
    from sre_tui.bench import idle

    return idle.run(quick)


def _load(quick: bool) -> Part:
    from sre_tui.bench import load

    return load.run(quick)


PARTS: dict[str, Callable[[bool], Part]] = {
    "startup": _startup,
    "logs": _logs,
    "pods": _pods,
    "idle": _idle,
    "load": _load,
}


def run(
    quick: bool,
    json_path: Path,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
) -> list[Part]:
    parts: list[Part] = []
    for name in only or PARTS:
        progress(f"bench: {name}…")
        started = time.monotonic()
        try:
            part = PARTS[name](quick)
        except BenchError as exc:
            part = Part(name, error=str(exc))
        except Exception as exc:  # one broken part must not lose the others' figures
            part = Part(name, error=f"{exc.__class__.__name__}: {exc}")
            part.details["traceback"] = traceback.format_exc()
        part.seconds = time.monotonic() - started
        parts.append(part)
    write_json(json_path, document(parts, quick))
    return parts


def main(quick: bool, json_path: Path, only: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    parts = run(quick, json_path, only)
    print(table(parts))
    kind = "quick" if quick else "full"
    print(f"\n{kind} run, {time.monotonic() - started:.0f} s; wrote {json_path}")
    return 1 if any(p.error for p in parts) else 0
