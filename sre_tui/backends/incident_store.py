"""Incidents on disk: one directory each, an fsync'd append-only event journal.

Layout under the state directory (`$SRE_TUI_STATE_DIR`, else the XDG state dir):

    incidents/INC-…/events.jsonl   one JSON event per line, fsync'd before it counts
    incidents/INC-…/runbook.yaml   the runbook text as it was when the incident started

A kill at any moment leaves at most a torn last line, which is ignored on load: that
event was never acknowledged on screen, because the screen only changes after `append`
has returned.

Two processes may hold the same incident open (two terminals, two responders). Appends
take an exclusive `flock` on the journal and number the event after the last one on disk,
so the file stays a consecutive, replayable sequence and neither process loses an event:
an event built from a stale in-memory incident (its `seq` already taken by the other
process) is written with the next free number instead of being refused. Each process's
screen shows its own events until it is reopened; `resume` replays everything.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from platformdirs import user_state_path

from sre_tui.core.incident import Event, Incident, IncidentError, new_incident_id

JOURNAL = "events.jsonl"
RUNBOOK = "runbook.yaml"


def state_dir() -> Path:
    if env := os.environ.get("SRE_TUI_STATE_DIR"):
        return Path(env)
    return user_state_path("sre-tui")


class StoreError(Exception):
    pass


@dataclass(frozen=True)
class StoredIncident:
    incident: Incident
    runbook_source: str | None
    torn_tail: bool = False  # a partial last line was ignored


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_seq(fd: int) -> int | None:
    """The seq of the last complete event (0 for an empty journal), after cutting a torn
    last line left by a crash so the next event starts a new line. Call under the lock.
    None when the last line cannot be read: the event keeps its own number."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 0
    tail = b""
    start = size
    while start > 0 and tail.count(b"\n") < 2:
        step = min(8192, start)
        start -= step
        tail = os.pread(fd, step, start) + tail
    if not tail.endswith(b"\n"):
        cut = tail.rfind(b"\n")
        keep = start + cut + 1 if cut >= 0 else 0
        os.ftruncate(fd, keep)
        os.fsync(fd)
        tail = tail[: cut + 1] if cut >= 0 else b""
        if not tail and keep:
            return _last_seq(fd)
        if not keep:
            return 0
    lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
    try:
        return int(json.loads(lines[-1])["seq"])
    except (ValueError, KeyError, TypeError):
        return None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class IncidentStore:
    def __init__(self, root: Path | None = None, suffix: Callable[[], str] | None = None) -> None:
        self.root = (root or state_dir()) / "incidents"
        self._lock = threading.Lock()
        # Random by default; fixed in screenshots and snapshot tests.
        self._suffix = suffix or (lambda: secrets.token_hex(2))

    def _dir(self, incident_id: str) -> Path:
        if not incident_id or "/" in incident_id or incident_id.startswith("."):
            raise StoreError(f"invalid incident id {incident_id!r}")
        return self.root / incident_id

    def new_id(self, now: datetime) -> str:
        while True:
            candidate = new_incident_id(now, self._suffix())
            if not self._dir(candidate).exists():
                return candidate

    def create(self, start: Event, runbook_source: str | None) -> None:
        """Write the runbook snapshot, then the first event; both durable on return."""
        directory = self._dir(start.data["id"])
        self.root.mkdir(parents=True, exist_ok=True)
        directory.mkdir()
        if runbook_source is not None:
            _write_atomic(directory / RUNBOOK, runbook_source)
        self.append(start.data["id"], start)
        _fsync_dir(self.root)

    def append(self, incident_id: str, event: Event) -> Event:
        """Append one event and fsync; only then may the UI show it as done.

        Returns the event as written: its `seq` is renumbered to follow the last event on
        disk when another process appended since this one loaded the incident."""
        path = self._dir(incident_id) / JOURNAL
        with self._lock:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # released by close
                last = _last_seq(fd)
                if last is not None and event.seq != last + 1:
                    event = dataclasses.replace(event, seq=last + 1)
                line = json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":"))
                data = (line + "\n").encode("utf-8")
                written = 0
                while written < len(data):
                    written += os.write(fd, data[written:])
                os.fsync(fd)
            finally:
                os.close(fd)
        return event

    def load(self, incident_id: str) -> StoredIncident:
        directory = self._dir(incident_id)
        path = directory / JOURNAL
        if not path.exists():
            raise StoreError(f"no incident {incident_id} under {self.root}")
        raw = path.read_bytes()
        torn = bool(raw) and not raw.endswith(b"\n")
        lines = raw.split(b"\n")
        complete = lines[:-1]  # the last element is '' or a torn line
        events = []
        for number, line in enumerate(complete, start=1):
            if not line.strip():
                continue
            try:
                events.append(Event.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                raise StoreError(f"{path}:{number}: unreadable event: {exc}") from None
        try:
            incident = Incident.replay(events)
        except (IncidentError, KeyError, ValueError) as exc:
            raise StoreError(f"{path}: {exc}") from None
        runbook_path = directory / RUNBOOK
        source = runbook_path.read_text(encoding="utf-8") if runbook_path.exists() else None
        return StoredIncident(incident, source, torn)

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / JOURNAL).is_file())

    def all(self) -> tuple[list[StoredIncident], list[str]]:
        """Every readable incident, oldest first, and messages for unreadable ones."""
        found, problems = [], []
        for incident_id in self.ids():
            try:
                found.append(self.load(incident_id))
            except StoreError as exc:
                problems.append(str(exc))
        found.sort(key=lambda s: s.incident.started_at)
        return found, problems

    def latest(self) -> StoredIncident | None:
        found, _ = self.all()
        return found[-1] if found else None
