"""Two app instances on the same incident: every event of both lands on disk, numbered
consecutively, and the journal replays."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

from sre_tui.backends.incident_store import IncidentStore
from sre_tui.core.incident import EnvInfo, EventKind, Incident
from sre_tui.core.severity import Severity

T0 = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
INCIDENT = "INC-20260314-0926-beef"


def _start(root: Path) -> None:
    event = Incident.start_event(
        incident_id=INCIDENT,
        title="Two terminals",
        severity=Severity.SEV2,
        user="alice",
        now=T0,
        environment=EnvInfo(name="staging"),
        runbook_id=None,
        variables={},
    )
    IncidentStore(root).create(event, None)


def _writer(
    root: str, who: str, count: int, both_loaded: multiprocessing.synchronize.Barrier
) -> None:
    """What a screen does: load once, then build every event from its in-memory incident
    (blind to the other process) and apply it after `append` returns."""
    store = IncidentStore(Path(root))
    incident = store.load(INCIDENT).incident
    both_loaded.wait(30)  # both hold the same stale view: their seqs collide
    for n in range(count):
        event = incident.note_event(f"{who}-{n}", who, T0)
        store.append(INCIDENT, event)
        incident.apply(event)


def test_two_stores_appending_interleaved_keep_every_event(tmp_path: Path) -> None:
    _start(tmp_path)
    alice, bob = IncidentStore(tmp_path), IncidentStore(tmp_path)
    seen = {name: alice.load(INCIDENT).incident for name in ("alice", "bob")}
    stores = {"alice": alice, "bob": bob}
    for n in range(5):
        for name in ("alice", "bob"):
            event = seen[name].note_event(f"{name}-{n}", name, T0)
            written = stores[name].append(INCIDENT, event)
            seen[name].apply(event)
            assert written.data == event.data
    incident = IncidentStore(tmp_path).load(INCIDENT).incident
    assert [e.seq for e in incident.events] == list(range(1, 12))
    notes = [e.data["text"] for e in incident.notes]
    assert notes == [f"{name}-{n}" for n in range(5) for name in ("alice", "bob")]


def test_two_processes_appending_concurrently_keep_every_event(tmp_path: Path) -> None:
    _start(tmp_path)
    count = 60
    context = multiprocessing.get_context("spawn")
    both_loaded = context.Barrier(2)
    workers = [
        context.Process(target=_writer, args=(str(tmp_path), who, count, both_loaded))
        for who in ("alice", "bob")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0

    journal = tmp_path / "incidents" / INCIDENT / "events.jsonl"
    lines = journal.read_bytes().split(b"\n")
    assert lines[-1] == b""  # no torn or interleaved line
    seqs = [json.loads(line)["seq"] for line in lines[:-1]]
    assert seqs == list(range(1, 2 * count + 2))

    stored = IncidentStore(tmp_path).load(INCIDENT)
    assert not stored.torn_tail
    texts = [e.data["text"] for e in stored.incident.events if e.kind is EventKind.NOTE]
    assert sorted(texts) == sorted(f"{w}-{n}" for w in ("alice", "bob") for n in range(count))
    for who in ("alice", "bob"):  # each writer's own order is kept
        own = [t for t in texts if t.startswith(who)]
        assert own == [f"{who}-{n}" for n in range(count)]
