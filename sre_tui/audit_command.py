"""`sre-tui audit`: the actions taken, as a table or as JSON lines.

Everything printed comes from a file that anyone with write access (or a crash) can put
anything into, so every value is made inert before it reaches the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from sre_tui.backends.audit import UNKNOWN, AuditEntry, AuditError, AuditLog
from sre_tui.core.actions import show_value
from sre_tui.core.sanitize import inert
from sre_tui.core.timefmt import full_stamp

UNKNOWN_TEXT = "OUTCOME UNKNOWN (no outcome recorded; check the server)"
HEADERS = ("TIME (UTC)", "WHO", "WHERE", "ACTION", "TARGET", "CHANGE", "DRY-RUN", "RESULT")
MAX_CELL = 60


def register(sub: argparse._SubParsersAction) -> None:
    """Add `audit` to the CLI's sub-parsers; `args.func` is its handler."""
    audit = sub.add_parser("audit", help="show the audit log of actions taken")
    audit.add_argument("--incident", metavar="ID", help="only this incident's actions")
    audit.add_argument("--json", action="store_true", help="one JSON object per action")
    audit.add_argument(
        "--file",
        metavar="PATH",
        help="audit log to read (default: audit.jsonl in the state directory)",
    )
    audit.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    log = AuditLog(Path(args.file)) if args.file else AuditLog.default()
    try:
        scan = log.scan(args.incident)
    except AuditError as exc:
        print(f"sre-tui: {inert(str(exc))}", file=sys.stderr)
        return 1
    if scan.skipped:
        print(
            f"warning: {scan.skipped} unreadable line(s) in {inert(str(log.path))} skipped",
            file=sys.stderr,
        )
    if args.json:
        for entry in scan.entries:
            record = {
                "audit_id": entry.audit_id,
                "state": entry.state,
                "reverted": entry.audit_id in scan.reverted,
                "intent": entry.intent,
                "outcome": entry.outcome,
            }
            # ensure_ascii: escape characters and controls arrive as \u escapes, inert.
            print(json.dumps(record, ensure_ascii=True, sort_keys=True), file=out)
        return 0
    if not scan.entries:
        where = f" for incident {inert(args.incident)}" if args.incident else ""
        print(f"No actions recorded{where} in {inert(str(log.path))}", file=out)
        return 0
    rows = [HEADERS] + [_row(entry, entry.audit_id in scan.reverted) for entry in scan.entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip(), file=out)
    return 0


def _cell(value: Any, limit: int = MAX_CELL) -> str:
    text = inert("" if value is None else str(value)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row(entry: AuditEntry, reverted: bool) -> tuple[str, ...]:
    intent = entry.intent
    ts = entry.ts
    when = full_stamp(ts) if ts else _cell(intent.get("ts"), 25)
    who = f"{_cell(intent.get('user'), 30)}@{_cell(intent.get('host'), 30)}"
    env = _cell(intent.get("environment"), 30) + ("!" if intent.get("production") else "")
    where = f"{env}/{_cell(intent.get('namespace') or '-', 30)}"
    action = _cell(intent.get("action") or intent.get("kind"), 30)
    if intent.get("reverts"):
        action += f" (revert of {_cell(intent['reverts'], 40)})"
    target = _cell(f"{intent.get('target') or ''} {intent.get('subject') or ''}")
    before = show_value(_opt(intent.get("before")), intent.get("before_known", True) is not False)
    change = f"{_cell(before, 30)} → {_cell(show_value(_opt(intent.get('after'))), 30)}"
    return (when, who, where, action, target, change, _dry_run(intent), _result(entry, reverted))


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _dry_run(intent: dict[str, Any]) -> str:
    dry = intent.get("dry_run")
    if not isinstance(dry, dict) or not dry.get("available"):
        return "none"
    verdict = {True: "passed", False: "refused"}.get(dry.get("ok"), "?")
    return f"{verdict}: {_cell(dry.get('message'), 40)}" if dry.get("ok") is False else verdict


def _result(entry: AuditEntry, reverted: bool) -> str:
    if entry.state == UNKNOWN:
        return UNKNOWN_TEXT
    outcome = entry.outcome or {}
    text = entry.state
    if message := outcome.get("message"):
        text += f": {_cell(message)}"
    if reverted:
        text += " (reverted)"
    return text
