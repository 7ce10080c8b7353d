"""`sre-tui lint --strict`: the guide's checklist as warnings that fail only under --strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre_tui.cli import main
from sre_tui.core.lint import validate_text
from sre_tui.core.strict import placeholders, strict_problems

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "sre_tui" / "templates" / "runbook.yaml"


def scaffold() -> str:
    return (
        TEMPLATE.read_text()
        .replace("__ID__", "probe")
        .replace("__TITLE__", "Probe")
        .replace("__SEVERITY__", "SEV2")
        .replace("__DATE__", "2026-01-05")
    )


def warnings(text: str) -> list[str]:
    runbook, problems = validate_text(text, "rb.yaml")
    assert runbook is not None, problems  # every case is valid for the plain lint
    return [str(p) for p in strict_problems(runbook, text, "rb.yaml")]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_scaffold_has_no_warnings() -> None:
    assert warnings(scaffold()) == []


def without_block(text: str, start: str, end: str) -> str:
    """`text` without the lines from the one starting with `start` up to `end` (excluded)."""
    lines = text.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i in range(first + 1, len(lines)) if lines[i].startswith(end))
    return "".join(lines[:first] + lines[last:])


def test_no_escalation_path() -> None:
    text = without_block(scaffold(), "escalation:", "contacts:")
    assert warnings(text) == []  # the escalation section still is a path
    text = without_block(text, "  - id: escalation", "  - id: post-incident")
    [warning] = warnings(text)
    assert warning == f"rb.yaml:{line_of(text, 'id: probe')}: warning: no escalation path: " + (
        "add 'escalation' rules (after N minutes → whom, how) or an escalation section"
    )


def test_no_rollback() -> None:
    text = scaffold()
    text = text.replace(
        "  - id: rollback\n    kind: rollback\n", "  - id: rollback\n    kind: restart\n"
    )
    assert warnings(text) == []  # the step still rolls back
    text = text.replace("title: Roll back to the previous revision", "title: Restart")
    text = text.replace("kubectl rollout undo", "kubectl rollout restart")
    text = text.replace("title: Revert temporary toggles", "title: Put temporary toggles")
    text = text.replace("(the action's revert does it)", "(by hand)")
    [warning] = warnings(text)
    assert warning.startswith(f"rb.yaml:{line_of(text, 'actions:')}: warning: no rollback")


def test_toggle_without_revert_value_and_http_without_revert() -> None:
    text = scaffold().replace("    from: 5000  # the value to put back when reverting\n", "")
    http = (
        "  - id: flag\n    kind: http\n    title: Flag off\n    method: PUT\n"
        "    url: https://flags.example.internal/api/flags/x\n    body: {enabled: false}\n"
    )
    text = text.replace("escalation:\n  #", http + "escalation:\n  #", 1)
    found = warnings(text)
    assert found == [
        f"rb.yaml:{line_of(text, 'to: 10000')}: warning: action 'raise-timeout' sets "
        "REQUEST_TIMEOUT_MS without a revert value: add 'from' (the value to put back)",
        f"rb.yaml:{line_of(text, '- id: flag')}: warning: action 'flag' has no 'revert' "
        "request: say how to undo it",
    ]


def test_query_without_thresholds() -> None:
    text = scaffold().replace("    warn: 0.5\n    crit: 2\n", "")
    assert warnings(text) == [
        f"rb.yaml:{line_of(text, '- id: p95_latency')}: warning: query 'p95_latency' has no "
        "thresholds: add 'warn' and/or 'crit'"
    ]
    # One threshold is enough.
    assert warnings(scaffold().replace("    crit: 2\n", "")) == []


@pytest.mark.parametrize(
    "command",
    [
        "kubectl logs [pod-name] -n {{ namespace }}",
        "kubectl get pods -n <namespace>",
        "curl -H 'Authorization: Bearer YOUR_TOKEN' https://x",
        "echo TODO",
        "kubectl scale deployment xxx --replicas=3",
    ],
)
def test_unfilled_placeholders_in_commands(command: str) -> None:
    text = scaffold().replace(
        "command: kubectl get pods -n {{ namespace }} -l app={{ deployment }}",
        f'command: "{command}"' if "'" in command else f"command: {command}",
    )
    [warning] = warnings(text)
    line = line_of(text, command)
    assert warning.startswith(f"rb.yaml:{line}: warning: step 'check-pods' command has unfilled")


@pytest.mark.parametrize(
    "text",
    [
        "sum(rate(x[5m]))",
        "grep -E '[Tt]imeout|[[:space:]]'",
        "env | grep -iE '^[a-z_]*(url|host)='",
        "jq '.items[0].metadata.name'",
        "cat <file >out 2>&1",
        "{orderBy: [count_DESC]}",
        "kubectl get pods -n {{ namespace }}",
    ],
)
def test_placeholders_ignore_what_commands_really_contain(text: str) -> None:
    assert placeholders(text) == []


def test_missing_sections_owner_dashboards_review() -> None:
    text = scaffold()
    text = text.replace("owner: platform-oncall", "owner: ''")
    text = text.replace('last_reviewed: "2026-01-05"', 'last_reviewed: "last spring"')
    text = without_block(text, "  - id: verification", "  - id: escalation")
    text = text.replace("        verify: {query: error_ratio, below: 0.01}\n", "")
    text = text.replace("        verify: {query: p95_latency, below: 0.5}\n", "")
    found = [w.split("warning: ", 1)[1] for w in warnings(text)]
    assert found == [
        "no 'owner': name the team that owns this runbook",
        "'last_reviewed' 'last spring' is not a date (YYYY-MM-DD)",
        "no verification: add a verification section or a step with 'verify'",
    ]


def test_strict_changes_the_exit_status_only_under_strict(tmp_path, capsys) -> None:
    path = tmp_path / "rb.yaml"
    path.write_text(scaffold().replace("    warn: 0.5\n    crit: 2\n", ""))
    assert main(["lint", str(path)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["lint", "--strict", str(path)]) == 1
    out = capsys.readouterr()
    assert out.out.startswith(f"{path}:")
    assert "warning: query 'p95_latency' has no thresholds" in out.out
    assert "1 strict warning(s)" in out.err


def test_shipped_runbooks_pass_plain_lint_and_strict_flags_only_known_gaps(capsys) -> None:
    assert main(["lint", str(REPO / "runbooks")]) == 0
    main(["lint", "--strict", str(REPO / "runbooks")])
    found = capsys.readouterr().out.splitlines()
    # What the shipped runbooks lack today (reported to the lead, not edited here).
    known = ("query '", "no 'last_reviewed' date", "step '", "no rollback")
    assert found and all(line.split("warning: ", 1)[1].startswith(known) for line in found)
