"""The audit log: every action taken against an environment, append-only, on disk.

One JSON object per line in `<state dir>/audit.jsonl`, beside the incident store. An
action writes two records: an *intent* before the call is made (who, where, what, the
plan as shown in the confirmation) and an *outcome* after it returns. An intent without
an outcome means the app died between the two: the change may or may not have happened,
and only the server can tell.

Each record is one `os.write` on an O_APPEND descriptor under an exclusive `flock`, then
fsync'd before the call returns, so two app instances appending at once never interleave
and a record counts only once it is on disk. A crash can leave a torn last line: the next
append starts a new line after it (nothing is ever removed from the log) and readers skip
and count unreadable lines.

Plans hold references to secrets (`keyring:NAME`), never the secrets; header values and
credential-like fields are still replaced by a marker before anything is written.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sre_tui.backends.incident_store import state_dir
from sre_tui.core.actions import (
    Outcome,
    Plan,
    outcome_from_json,
    outcome_to_json,
    plan_from_json,
    plan_to_json,
)

AUDIT_FILE = "audit.jsonl"
INTENT = "intent"
OUTCOME = "outcome"
REDACTED = "(not recorded)"

APPLIED = "applied"
FAILED = "failed"
CONFLICT = "refused (conflict)"
UNKNOWN = "outcome unknown"

# Keys whose values are credentials or header values, wherever they appear in a record.
_SECRET_KEY = re.compile(
    r"^(headers?|auth|authorization|proxy-authorization|cookie|set-cookie|password|passwd|secret|"
    r"token|api[-_]?key|x-api-key|private[-_]?key|bearer)$",
    re.IGNORECASE,
)
# A reference to a secret, safe to record: the secret itself is elsewhere.
_SECRET_REF = re.compile(r"^(keyring|env):[A-Za-z0-9_.\-/]+$")
# `Authorization: Bearer abc`, `token=abc` inside free text (details, command output).
# Shell variables (`$TOKEN`) and secret references are names, not secrets: kept.
_SECRET_IN_TEXT = re.compile(
    r"(?i)\b(authorization|proxy-authorization|cookie|x-api-key|api[-_]?key|password|token|"
    r"secret)(\s*[:=]\s*)(?:(?:bearer|basic|token)\s+)?+(?![$]|(?:keyring|env):)[^\s,;\"']+"
    r"|\b(bearer)(\s+)(?![$])[A-Za-z0-9._~+/=-]{8,}"
)


class AuditError(OSError):
    """The audit log cannot be written or read; the message is for the user. An OSError,
    so callers that refuse to act when the log is not writable catch it as one."""


def new_audit_id(now: datetime | None = None) -> str:
    """Sortable (UTC time to the microsecond first) and unique (random suffix)."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)


def redact(value: Any, key: str = "") -> Any:
    """`value` with header values and credential-like fields replaced by a marker."""
    if _SECRET_KEY.match(key):
        if isinstance(value, str) and _SECRET_REF.match(value):
            return value
        if isinstance(value, dict):
            return {str(k): _redact_leaf(v) for k, v in value.items()}
        return None if value is None else REDACTED
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _SECRET_IN_TEXT.sub(_redact_match, value)
    return value


def _redact_match(match: re.Match[str]) -> str:
    name, separator = match.group(1, 2) if match.group(1) else match.group(3, 4)
    return name + separator + REDACTED


def _redact_leaf(value: Any) -> Any:
    if isinstance(value, str) and _SECRET_REF.match(value):
        return value
    return None if value is None else REDACTED


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AuditEntry:
    """An intent and, if one was written, its outcome."""

    intent: dict[str, Any]
    outcome: dict[str, Any] | None = None

    @property
    def audit_id(self) -> str:
        return str(self.intent["audit_id"])

    @property
    def incident(self) -> str | None:
        value = self.intent.get("incident")
        return None if value is None else str(value)

    @property
    def reverts(self) -> str | None:
        value = self.intent.get("reverts")
        return None if value is None else str(value)

    @property
    def ts(self) -> datetime | None:
        try:
            return datetime.fromisoformat(str(self.intent.get("ts")))
        except ValueError:
            return None

    @property
    def state(self) -> str:
        if self.outcome is None:
            return UNKNOWN
        if self.outcome.get("conflict"):
            return CONFLICT
        return APPLIED if self.outcome.get("ok") else FAILED

    @property
    def applied(self) -> bool:
        return self.state == APPLIED

    def to_plan(self) -> Plan | None:
        """The plan as it was confirmed (for preparing a revert), or None if unreadable."""
        raw = self.intent.get("plan")
        if not isinstance(raw, dict):
            return None
        try:
            return plan_from_json(raw)
        except (TypeError, ValueError):
            return None

    def to_outcome(self) -> Outcome | None:
        if self.outcome is None:
            return None
        fields = {k: v for k, v in self.outcome.items() if k not in ("audit_id", "phase", "ts")}
        try:
            return outcome_from_json(fields)
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class AuditScan:
    """What reading the log found."""

    entries: list[AuditEntry]
    skipped: int = 0  # torn or unreadable lines, and outcomes without an intent
    reverted: frozenset[str] = field(default_factory=frozenset)


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.skipped = 0  # lines skipped by the last read

    @classmethod
    def default(cls, root: Path | None = None) -> AuditLog:
        """`<state dir>/audit.jsonl`: the state dir the incident store uses."""
        return cls((root or state_dir()) / AUDIT_FILE)

    # Writing

    def intent(self, *, incident_id: str, user: str, host: str, plan: Plan) -> str:
        """Record what is about to be done, before doing it; returns its audit id."""
        audit_id = new_audit_id()
        record = {
            "audit_id": audit_id,
            "phase": INTENT,
            "ts": _now().isoformat(),
            "user": user,
            "host": host,
            "incident": incident_id,
            "environment": plan.environment,
            "context": plan.context,
            "namespace": plan.namespace,
            "action": plan.action_id,
            "kind": plan.kind,
            "title": plan.title,
            "target": plan.target,
            "subject": plan.subject,
            "before": plan.before,
            "before_known": plan.before_known,
            "after": plan.after,
            "dry_run": {
                "available": plan.dry_run.available,
                "ok": plan.dry_run.ok,
                "message": plan.dry_run.message,
            },
            "access": {"permitted": plan.access.permitted, "reason": plan.access.reason},
            "reverts": plan.reverts,
            "production": plan.production,
            "summary": plan.summary(),
            "plan": plan_to_json(plan),
        }
        self._append(record)
        return audit_id

    def outcome(self, audit_id: str, outcome: Outcome) -> None:
        """Record what happened to the action written as `audit_id`."""
        record = {
            "audit_id": audit_id,
            "phase": OUTCOME,
            "ts": _now().isoformat(),
            **outcome_to_json(outcome),
        }
        self._append(record)

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(redact(record), ensure_ascii=False, separators=(",", ":")) + "\n"
        data = line.encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuditError(f"cannot open the audit log {self.path}: {exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    # A torn line from a crash: keep it (it is evidence), start a new line.
                    data = b"\n" + data
                written = os.write(fd, data)
                while written < len(data):  # a short write to a regular file: rare
                    written += os.write(fd, data[written:])
                os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as exc:
            raise AuditError(f"cannot write the audit log {self.path}: {exc}") from None
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.path.parent)

    # Reading

    def scan(self, incident_id: str | None = None) -> AuditScan:
        """Intents joined with their outcomes, oldest first. Raises AuditError when the
        file cannot be read; a missing file is an empty log."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return AuditScan([])
        except OSError as exc:
            raise AuditError(f"cannot read the audit log {self.path}: {exc}") from None
        intents: dict[str, dict[str, Any]] = {}
        outcomes: dict[str, dict[str, Any]] = {}
        skipped = 0
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            record = _parse(line)
            if record is None:
                skipped += 1
                continue
            audit_id = record["audit_id"]
            target = intents if record["phase"] == INTENT else outcomes
            if audit_id in target:
                skipped += 1  # a duplicate: the first one counts
                continue
            target[audit_id] = record
        skipped += sum(1 for audit_id in outcomes if audit_id not in intents)
        entries = [AuditEntry(intent, outcomes.get(aid)) for aid, intent in intents.items()]
        reverted = _reverted(entries)
        if incident_id is not None:
            entries = [e for e in entries if e.incident == incident_id]
        self.skipped = skipped
        return AuditScan(entries, skipped, reverted)

    def entries(self, incident_id: str | None = None) -> list[AuditEntry]:
        """Intents joined with their outcomes, oldest first (`skipped` counts bad lines)."""
        return self.scan(incident_id).entries

    def entry(self, audit_id: str) -> AuditEntry | None:
        return next((e for e in self.entries() if e.audit_id == audit_id), None)

    def reverted_ids(self) -> frozenset[str]:
        """Audit ids of applied actions that an applied revert has undone."""
        return self.scan().reverted


def _reverted(entries: list[AuditEntry]) -> frozenset[str]:
    applied = {e.audit_id for e in entries if e.applied}
    return frozenset(e.reverts for e in entries if e.applied and e.reverts in applied)


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict):
        return None
    if not isinstance(record.get("audit_id"), str) or record.get("phase") not in (
        INTENT,
        OUTCOME,
    ):
        return None
    return record


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
