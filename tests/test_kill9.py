"""SIGKILL the real app at random moments; nothing the screen showed as done is lost.

A bounded run of the soak in `sre_tui.soak` (`python -m sre_tui.soak --rounds 5000` is
the long one)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sre_tui.soak import Figures, soak, verify

pytestmark = pytest.mark.pty


def test_kill9_rounds_lose_nothing() -> None:
    rounds = int(os.environ.get("SRE_TUI_KILL9_ROUNDS", "6"))
    figures: Figures = soak(rounds, seed=None, resume_every=3, jobs=1)
    print(figures.summary())
    assert figures.losses == []
    assert figures.rounds == rounds
    assert figures.kills == rounds
    assert figures.checked >= rounds  # every round showed something done before the kill


def test_verify_reports_a_tick_that_was_shown_but_not_written(tmp_path: Path) -> None:
    """The check itself can fail: a screen that showed `[x]` for a step the journal
    lacks is a loss, and a journal line that is not the last and does not parse is too."""
    from sre_tui.backends.audit import AuditLog
    from sre_tui.backends.incident_store import IncidentStore
    from sre_tui.core.incident import EnvInfo, Incident
    from sre_tui.core.severity import Severity
    from sre_tui.soak import _Driver

    store = IncidentStore(tmp_path)
    start = Incident.start_event(
        incident_id="INC-20260101-0000-abcd",
        title="Soak drill",
        severity=Severity.SEV3,
        user="soak",
        now=datetime.now(UTC),
        environment=EnvInfo(name="none"),
        runbook_id="soak-drill",
        variables={},
    )
    store.create(start, None)
    driver = _Driver.__new__(_Driver)
    driver.raw = bytearray(b"\x1b[1m[x] \x1b[2mAlpha step\x1b[0m Note: soak-note-0-1")
    driver.command_marks = []
    audit = AuditLog(tmp_path / "audit.jsonl")
    checked, problems = verify(store, audit, driver, start.data["id"])
    assert checked == 2
    assert problems == ["tick alpha shown but lost", "note soak-note-0-1 shown but lost"]

    journal = store.root / start.data["id"] / "events.jsonl"
    journal.write_bytes(journal.read_bytes() + b'{"seq": 2, torn\n{"seq":3')
    _, problems = verify(store, audit, driver, start.data["id"])
    assert any("does not parse" in p for p in problems)
