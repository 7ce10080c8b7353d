"""The incident journal on disk: what is appended is exactly what a resume replays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sre_tui.backends.incident_store import IncidentStore, StoreError
from sre_tui.core.incident import (
    EnvInfo,
    Event,
    EventKind,
    Incident,
    IncidentError,
    IncidentState,
)
from sre_tui.core.severity import Severity

T0 = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
ENV = EnvInfo(name="staging", context="staging", namespace="staging", production=False)
RUNBOOK_SOURCE = "# snapshot\nid: probe\ntitle: Probe – ünïcode\n"


def start(store: IncidentStore, incident_id: str, now: datetime = T0, **kw) -> Incident:
    event = Incident.start_event(
        incident_id=incident_id,
        title=kw.get("title", "Checkout times out"),
        severity=kw.get("severity", Severity.SEV2),
        user="alice",
        now=now,
        environment=ENV,
        runbook_id="service-timeout",
        variables={"deployment": "checkout", "rate_window": "5m"},
        host="laptop-1",
    )
    store.create(event, kw.get("source", RUNBOOK_SOURCE))
    return Incident.replay([event])


class Live:
    """An incident as the app holds it: every event is appended, then applied."""

    def __init__(self, store: IncidentStore, incident: Incident) -> None:
        self.store = store
        self.incident = incident

    def record(self, event: Event) -> None:
        self.store.append(self.incident.id, event)
        self.incident.apply(event)


@pytest.fixture
def store(tmp_path: Path) -> IncidentStore:
    return IncidentStore(tmp_path)


def journal(store: IncidentStore, incident_id: str) -> Path:
    return store.root / incident_id / "events.jsonl"


def test_a_whole_incident_replays_to_the_same_state(store: IncidentStore) -> None:
    live = Live(store, start(store, "INC-1"))
    inc = live.incident
    live.record(inc.toggle_event("check-health", "alice", T0 + timedelta(minutes=1)))
    live.record(inc.toggle_event("check-pods", "bob", T0 + timedelta(minutes=2)))
    live.record(inc.toggle_event("check-pods", "bob", T0 + timedelta(minutes=3)))  # untick
    live.record(inc.toggle_event("scale-up", "carol", T0 + timedelta(minutes=4, seconds=5)))
    live.record(
        inc.note_event('  p95 at 2.3 s — "quoted" ünï\\code  ', "bob", T0 + timedelta(minutes=5))
    )
    live.record(inc.severity_event(Severity.SEV1, "alice", T0 + timedelta(minutes=6)))
    live.record(inc.state_event(IncidentState.MITIGATED, "alice", T0 + timedelta(minutes=7)))
    live.record(inc.escalation_event(1, "Engineering lead", "alice", T0 + timedelta(minutes=8)))
    live.record(inc.state_event(IncidentState.RESOLVED, "carol", T0 + timedelta(minutes=9)))

    stored = store.load("INC-1")
    loaded = stored.incident
    assert not stored.torn_tail
    assert loaded == inc
    # And spelled out, as the screen shows it after `sre-tui resume`:
    assert loaded.title == "Checkout times out"
    assert loaded.started_at == T0 and loaded.started_by == "alice"
    assert loaded.environment == ENV
    assert loaded.variables == {"deployment": "checkout", "rate_window": "5m"}
    assert loaded.host == "laptop-1"
    assert loaded.ticks.keys() == {"check-health", "scale-up"}
    assert loaded.ticks["check-health"].user == "alice"
    assert loaded.ticks["check-health"].at == T0 + timedelta(minutes=1)
    assert loaded.ticks["scale-up"].user == "carol"
    assert loaded.ticks["scale-up"].at == T0 + timedelta(minutes=4, seconds=5)
    [note] = loaded.notes
    assert note.data["text"] == 'p95 at 2.3 s — "quoted" ünï\\code'
    assert (note.user, note.ts) == ("bob", T0 + timedelta(minutes=5))
    assert loaded.severity is Severity.SEV1
    assert loaded.state is IncidentState.RESOLVED
    assert loaded.mitigated_at == T0 + timedelta(minutes=7)
    assert loaded.resolved_at == T0 + timedelta(minutes=9)
    assert loaded.escalations == {1}
    assert [e.seq for e in loaded.events] == list(range(1, 11))
    assert [e.kind for e in loaded.events] == [
        EventKind.STARTED,
        EventKind.TICK,
        EventKind.TICK,
        EventKind.UNTICK,
        EventKind.TICK,
        EventKind.NOTE,
        EventKind.SEVERITY,
        EventKind.STATE,
        EventKind.ESCALATION,
        EventKind.STATE,
    ]


def test_journal_is_one_json_event_per_line(store: IncidentStore) -> None:
    live = Live(store, start(store, "INC-1"))
    live.record(live.incident.note_event("line one", "bob", T0 + timedelta(seconds=1)))
    raw = journal(store, "INC-1").read_text(encoding="utf-8")
    assert raw.endswith("\n")
    rows = [json.loads(line) for line in raw.splitlines()]
    assert [(r["seq"], r["kind"], r["user"]) for r in rows] == [
        (1, "started", "alice"),
        (2, "note", "bob"),
    ]
    assert rows[1]["ts"] == (T0 + timedelta(seconds=1)).isoformat()


def test_resolving_directly_also_sets_mitigated_at(store: IncidentStore) -> None:
    live = Live(store, start(store, "INC-1"))
    at = T0 + timedelta(minutes=12)
    live.record(live.incident.state_event(IncidentState.RESOLVED, "alice", at))
    loaded = store.load("INC-1").incident
    assert (loaded.mitigated_at, loaded.resolved_at) == (at, at)
    assert loaded.elapsed(T0 + timedelta(days=1)) == 12 * 60


def test_reopening_clears_resolved_at(store: IncidentStore) -> None:
    live = Live(store, start(store, "INC-1"))
    inc = live.incident
    live.record(inc.state_event(IncidentState.RESOLVED, "alice", T0 + timedelta(minutes=1)))
    live.record(inc.state_event(IncidentState.INVESTIGATING, "bob", T0 + timedelta(minutes=2)))
    loaded = store.load("INC-1").incident
    assert loaded.state is IncidentState.INVESTIGATING
    assert loaded.resolved_at is None
    assert loaded.is_open


def test_closing_is_stored(store: IncidentStore) -> None:
    live = Live(store, start(store, "INC-1"))
    inc = live.incident
    live.record(inc.state_event(IncidentState.RESOLVED, "alice", T0 + timedelta(minutes=1)))
    live.record(inc.state_event(IncidentState.CLOSED, "alice", T0 + timedelta(minutes=2)))
    loaded = store.load("INC-1").incident
    assert loaded.state is IncidentState.CLOSED
    assert loaded.closed_at == T0 + timedelta(minutes=2)
    assert not loaded.is_open


# ---- crashes ----------------------------------------------------------------------------


def test_torn_last_line_is_ignored_and_the_next_append_still_loads(
    store: IncidentStore,
) -> None:
    live = Live(store, start(store, "INC-1"))
    live.record(live.incident.toggle_event("check-health", "alice", T0 + timedelta(minutes=1)))
    before = store.load("INC-1").incident

    # A kill in the middle of writing the third event leaves half a line, no newline.
    torn = json.dumps(
        live.incident.note_event("never acknowledged", "bob", T0 + timedelta(minutes=2)).to_json()
    ).encode()
    with journal(store, "INC-1").open("ab") as handle:
        handle.write(torn[: len(torn) // 2])

    stored = store.load("INC-1")
    assert stored.torn_tail
    assert stored.incident == before
    assert stored.incident.notes == []

    # After resume the next event is seq 3 again and lands on its own line.
    resumed = Live(store, stored.incident)
    resumed.record(resumed.incident.note_event("after crash", "bob", T0 + timedelta(minutes=3)))
    again = store.load("INC-1")
    assert not again.torn_tail
    assert again.incident == resumed.incident
    assert [n.data["text"] for n in again.incident.notes] == ["after crash"]
    lines = journal(store, "INC-1").read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert [json.loads(line)["seq"] for line in lines[:-1]] == [1, 2, 3]


def test_torn_tail_that_is_a_whole_event_without_newline_is_still_ignored(
    store: IncidentStore,
) -> None:
    live = Live(store, start(store, "INC-1"))
    event = live.incident.note_event("not yet durable", "bob", T0 + timedelta(minutes=1))
    with journal(store, "INC-1").open("ab") as handle:
        handle.write(json.dumps(event.to_json()).encode())
    stored = store.load("INC-1")
    assert stored.torn_tail
    assert stored.incident.notes == []


def test_corrupt_complete_line_is_a_store_error_naming_the_line(store: IncidentStore) -> None:
    start(store, "INC-1")
    with journal(store, "INC-1").open("ab") as handle:
        handle.write(b"{not json}\n")
    with pytest.raises(StoreError, match=r"events\.jsonl:2: unreadable event"):
        store.load("INC-1")


# ---- transitions ------------------------------------------------------------------------


@pytest.mark.parametrize("target", list(IncidentState))
def test_closed_incident_cannot_change_state(store: IncidentStore, target) -> None:
    live = Live(store, start(store, "INC-1"))
    inc = live.incident
    live.record(inc.state_event(IncidentState.RESOLVED, "alice", T0 + timedelta(minutes=1)))
    live.record(inc.state_event(IncidentState.CLOSED, "alice", T0 + timedelta(minutes=2)))
    with pytest.raises(IncidentError, match=r"cannot go from closed to"):
        inc.state_event(target, "alice", T0 + timedelta(minutes=3))


def test_investigating_cannot_jump_to_closed(store: IncidentStore) -> None:
    inc = start(store, "INC-1")
    with pytest.raises(IncidentError, match=r"cannot go from investigating to closed"):
        inc.state_event(IncidentState.CLOSED, "alice", T0)
    # A refused change writes nothing.
    assert len(journal(store, "INC-1").read_text().splitlines()) == 1


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ((), {IncidentState.MITIGATED, IncidentState.RESOLVED}),
        ((IncidentState.MITIGATED,), {IncidentState.RESOLVED, IncidentState.INVESTIGATING}),
        ((IncidentState.RESOLVED,), {IncidentState.CLOSED, IncidentState.INVESTIGATING}),
    ],
)
def test_only_listed_transitions_are_allowed(store: IncidentStore, path, allowed) -> None:
    inc = start(store, "INC-1")
    for n, state in enumerate(path, start=1):
        inc.apply(inc.state_event(state, "alice", T0 + timedelta(minutes=n)))
    for target in IncidentState:
        if target in allowed:
            assert inc.state_event(target, "alice", T0).data["to"] == target.value
        else:
            with pytest.raises(IncidentError):
                inc.state_event(target, "alice", T0)


def test_empty_note_and_same_severity_are_refused(store: IncidentStore) -> None:
    inc = start(store, "INC-1")
    with pytest.raises(IncidentError, match="note needs some text"):
        inc.note_event("   \n ", "bob", T0)
    with pytest.raises(IncidentError, match="already SEV2"):
        inc.severity_event(Severity.SEV2, "bob", T0)


# ---- the store ----------------------------------------------------------------------------


def test_latest_is_the_newest_incident_by_start_time(store: IncidentStore) -> None:
    assert store.latest() is None
    # Names sort the other way round, so only the start time can pick the right one.
    start(store, "INC-b-older", now=T0, title="older")
    start(store, "INC-a-newer", now=T0 + timedelta(hours=1), title="newer")
    start(store, "INC-c-oldest", now=T0 - timedelta(days=1), title="oldest")
    latest = store.latest()
    assert latest is not None
    assert (latest.incident.id, latest.incident.title) == ("INC-a-newer", "newer")
    assert store.ids() == ["INC-a-newer", "INC-b-older", "INC-c-oldest"]


def test_latest_skips_an_unreadable_incident(store: IncidentStore) -> None:
    start(store, "INC-1", now=T0)
    broken = store.root / "INC-2"
    broken.mkdir()
    (broken / "events.jsonl").write_text("garbage\n")
    found, problems = store.all()
    assert [s.incident.id for s in found] == ["INC-1"]
    assert len(problems) == 1 and "INC-2" in problems[0]
    assert store.latest().incident.id == "INC-1"


def test_runbook_snapshot_is_stored(store: IncidentStore) -> None:
    start(store, "INC-1")
    assert (store.root / "INC-1" / "runbook.yaml").read_text(encoding="utf-8") == RUNBOOK_SOURCE
    assert store.load("INC-1").runbook_source == RUNBOOK_SOURCE
    assert not list((store.root / "INC-1").glob("*.tmp"))


def test_incident_without_runbook_has_no_snapshot(store: IncidentStore) -> None:
    start(store, "INC-1", source=None)
    assert not (store.root / "INC-1" / "runbook.yaml").exists()
    assert store.load("INC-1").runbook_source is None


def test_new_id_is_readable_and_unused(store: IncidentStore) -> None:
    first = store.new_id(T0)
    assert first.startswith("INC-20260314-0926-")
    start(store, first)
    assert store.new_id(T0) != first


def test_missing_incident_is_a_store_error(store: IncidentStore) -> None:
    with pytest.raises(StoreError, match=r"no incident INC-404"):
        store.load("INC-404")


@pytest.mark.parametrize("bad", ["../x", "..", ".", "", "a/b", "/etc/passwd", ".hidden"])
def test_invalid_incident_ids_are_refused(store: IncidentStore, tmp_path: Path, bad) -> None:
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(StoreError, match="invalid incident id"):
        store.load(bad)
    with pytest.raises(StoreError, match="invalid incident id"):
        start(store, bad)
    # Nothing was written outside (or inside) the incidents directory.
    assert sorted(tmp_path.rglob("*")) == before
