"""The audit log: intents before calls, outcomes after, durable, readable after a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sre_tui.audit_command import UNKNOWN_TEXT
from sre_tui.backends.audit import AUDIT_FILE, AuditError, AuditLog
from sre_tui.cli import main
from sre_tui.core.actions import Access, DryRun, Outcome, Plan

REPO = Path(__file__).resolve().parent.parent


def make_plan(**changes: object) -> Plan:
    plan = Plan(
        action_id="raise-timeout",
        kind="env",
        title="Raise the checkout timeout",
        environment="production",
        context="prod-eu",
        namespace="shop",
        production=True,
        target="deployment/checkout container checkout",
        confirm_name="checkout",
        subject="env TIMEOUT_THRESHOLD_MS",
        before="3000",
        after="10000",
        dry_run=DryRun(True, True, "accepted"),
        access=Access(True, ""),
        revertible=True,
        revert_note="sets TIMEOUT_THRESHOLD_MS back to 3000",
        details=("kubectl set env deployment/checkout TIMEOUT_THRESHOLD_MS=10000",),
        state={"container": "checkout", "auth": "keyring:flags"},
    )
    return plan.for_revert(**changes) if changes else plan


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


def audit_cli(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["audit", "--file", str(path), *extra])
    return code, capsys.readouterr().out


def test_intent_then_outcome_round_trip(log: AuditLog) -> None:
    plan = make_plan()
    audit_id = log.intent(incident_id="INC-1", user="ana", host="laptop", plan=plan)
    outcome = Outcome(True, "server now has TIMEOUT_THRESHOLD_MS=10000", after="10000")
    log.outcome(audit_id, outcome)

    [entry] = log.entries()
    assert entry.audit_id == audit_id
    assert entry.state == "applied"
    intent = entry.intent
    assert intent["phase"] == "intent"
    assert (intent["user"], intent["host"], intent["incident"]) == ("ana", "laptop", "INC-1")
    assert (intent["environment"], intent["context"], intent["namespace"]) == (
        "production",
        "prod-eu",
        "shop",
    )
    assert (intent["action"], intent["kind"], intent["before"], intent["after"]) == (
        "raise-timeout",
        "env",
        "3000",
        "10000",
    )
    assert intent["dry_run"] == {"available": True, "ok": True, "message": "accepted"}
    assert intent["production"] is True and intent["reverts"] is None
    assert intent["ts"].endswith("+00:00")
    # A revert can be prepared from the log alone.
    assert entry.to_plan() == plan
    assert entry.to_outcome() == outcome
    # Each line is a complete JSON object on its own.
    lines = log.path.read_text().splitlines()
    assert [json.loads(line)["phase"] for line in lines] == ["intent", "outcome"]


def test_default_location_is_the_state_dir(isolated_state: Path) -> None:
    log = AuditLog.default()
    assert log.path == isolated_state / AUDIT_FILE
    log.intent(incident_id="INC-1", user="u", host="h", plan=make_plan())
    assert (isolated_state / AUDIT_FILE).is_file()


def test_failed_and_conflict_states(log: AuditLog) -> None:
    failed = log.intent(incident_id="INC-1", user="u", host="h", plan=make_plan())
    log.outcome(failed, Outcome(False, "403 forbidden"))
    refused = log.intent(incident_id="INC-1", user="u", host="h", plan=make_plan())
    log.outcome(refused, Outcome(False, "changed", conflict=True, current="5000"))
    assert [e.state for e in log.entries()] == ["failed", "refused (conflict)"]


def test_intent_without_outcome_is_outcome_unknown(
    log: AuditLog, capsys: pytest.CaptureFixture[str]
) -> None:
    log.intent(incident_id="INC-1", user="ana", host="laptop", plan=make_plan())
    [entry] = log.entries()
    assert entry.outcome is None
    assert entry.state == "outcome unknown"

    code, out = audit_cli(log.path, capsys)
    assert code == 0
    assert UNKNOWN_TEXT in out
    assert "ana@laptop" in out
    assert "production!/shop" in out
    assert "3000 → 10000" in out

    code, out = audit_cli(log.path, capsys, "--json")
    assert code == 0
    [record] = [json.loads(line) for line in out.splitlines()]
    assert record["state"] == "outcome unknown"
    assert record["outcome"] is None


def test_torn_last_line_is_skipped_and_the_next_append_starts_a_new_line(
    log: AuditLog,
) -> None:
    first = log.intent(incident_id="INC-1", user="u", host="h", plan=make_plan())
    with log.path.open("ab") as handle:  # a crash in the middle of a write
        handle.write(b'{"audit_id":"X","phase":"intent","user":"u')
    assert [e.audit_id for e in log.entries()] == [first]
    assert log.skipped == 1

    second = log.intent(incident_id="INC-1", user="u", host="h", plan=make_plan())
    log.outcome(second, Outcome(True, "done"))
    scan = log.scan()
    assert [(e.audit_id, e.state) for e in scan.entries] == [
        (first, "outcome unknown"),
        (second, "applied"),
    ]
    assert scan.skipped == 1
    # Nothing was removed: the torn fragment is still there as evidence.
    assert b'"user":"u\n' in log.path.read_bytes()


def test_garbage_lines_are_counted_never_raised(log: AuditLog) -> None:
    audit_id = log.intent(incident_id="INC-1", user="u", host="h", plan=make_plan())
    with log.path.open("ab") as handle:
        handle.write(b"not json\n[1, 2]\n{}\n\xff\xfe\n")
        handle.write(b'{"audit_id": 7, "phase": "intent"}\n')
        handle.write(b'{"audit_id": "orphan", "phase": "outcome", "ok": true}\n')
    log.outcome(audit_id, Outcome(True, "done"))
    [entry] = log.entries()
    assert entry.state == "applied"
    assert log.skipped == 6


def test_reverted_ids(log: AuditLog) -> None:
    plan = make_plan()
    first = log.intent(incident_id="INC-1", user="u", host="h", plan=plan)
    log.outcome(first, Outcome(True, "applied"))
    other = log.intent(incident_id="INC-1", user="u", host="h", plan=plan)
    log.outcome(other, Outcome(True, "applied"))
    undo = plan.for_revert(before="10000", after="3000", reverts=first)
    failed_undo = log.intent(incident_id="INC-1", user="u", host="h", plan=undo)
    log.outcome(failed_undo, Outcome(False, "timeout"))
    assert log.reverted_ids() == frozenset()  # a failed revert undid nothing
    done_undo = log.intent(incident_id="INC-1", user="u", host="h", plan=undo)
    log.outcome(done_undo, Outcome(True, "restored"))
    assert log.reverted_ids() == {first}
    assert log.entry(done_undo) is not None and log.entry(done_undo).reverts == first


def test_audit_ids_sort_in_writing_order(log: AuditLog) -> None:
    ids = [log.intent(incident_id="INC-1", user="u", host="h", plan=make_plan()) for _ in range(20)]
    assert sorted(ids) == ids
    assert len(set(ids)) == 20


def test_incident_filter(log: AuditLog, capsys: pytest.CaptureFixture[str]) -> None:
    log.intent(incident_id="INC-1", user="u", host="h", plan=make_plan())
    log.intent(incident_id="INC-2", user="u", host="h", plan=make_plan(title="Other"))
    assert [e.incident for e in log.entries("INC-2")] == ["INC-2"]
    code, out = audit_cli(log.path, capsys, "--incident", "INC-2", "--json")
    assert code == 0
    assert [json.loads(line)["intent"]["incident"] for line in out.splitlines()] == ["INC-2"]


def test_header_values_are_never_written(log: AuditLog) -> None:
    plan = make_plan(
        kind="http",
        details=("POST https://flags/api", "Authorization: Bearer sekret-abcdef123"),
        state={"headers": {"X-Api-Key": "sekret-xyz"}, "auth": "keyring:flags"},
    )
    audit_id = log.intent(incident_id="INC-1", user="u", host="h", plan=plan)
    log.outcome(audit_id, Outcome(True, "ok", response="token=sekret-777 accepted"))
    text = log.path.read_text()
    assert "sekret" not in text
    assert "keyring:flags" in text  # a reference is not a secret
    assert "X-Api-Key" in text  # header names stay, values do not


def test_escape_sequences_from_the_log_are_printed_inert(
    log: AuditLog, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = "deployment/x\x1b]0;pwned\x07\x1b[2J\x9b31m\x1b]52;c;Y2xpcA==\x07"
    audit_id = log.intent(
        incident_id="INC-1", user="u\x1b[31m", host="h", plan=make_plan(target=evil)
    )
    log.outcome(audit_id, Outcome(False, "bad\x1b[1Amessage"))
    for extra in ((), ("--json",)):
        code, out = audit_cli(log.path, capsys, *extra)
        assert code == 0
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    code, out = audit_cli(log.path, capsys)
    assert "deployment/x" in out and "badmessage" in out


def test_unreadable_file_exits_1_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    assert main(["audit", "--file", str(directory)]) == 1
    assert "cannot read the audit log" in capsys.readouterr().err
    with pytest.raises(AuditError):
        AuditLog(directory).entries()


def test_empty_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = audit_cli(tmp_path / "missing.jsonl", capsys)
    assert code == 0
    assert "No actions recorded" in out


def test_two_processes_appending_at_once_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    go = tmp_path / "go"
    writer = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(REPO)!r})
        from sre_tui.backends.audit import AuditLog
        from sre_tui.core.actions import DryRun, Outcome, Plan
        plan = Plan("a", "env", "t", "e", "c", "n", False, "deployment/" + "x" * 2000,
                    "x", "s", "1", "2", DryRun(False))
        log = AuditLog(Path({str(path)!r}))
        while not Path({str(go)!r}).exists():
            time.sleep(0.001)
        for i in range(100):
            audit_id = log.intent(incident_id=sys.argv[1], user="u", host="h", plan=plan)
            log.outcome(audit_id, Outcome(True, str(i)))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", writer, name]) for name in ("INC-A", "INC-B")]
    go.touch()
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert len(records) == 400
    log = AuditLog(path)
    entries = log.entries()
    assert log.skipped == 0
    assert len(entries) == 200 and all(e.state == "applied" for e in entries)
    assert sorted(e.incident or "" for e in entries) == ["INC-A"] * 100 + ["INC-B"] * 100
