"""`sre-tui export-runbook`: runbooks as readable Markdown that imports back to the same runbook."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from sre_tui.backends.config_files import load_config
from sre_tui.core.lint import validate_text
from sre_tui.core.markdown_export import to_markdown
from sre_tui.core.markdown_import import import_markdown, to_yaml
from sre_tui.core.runbook import Runbook
from sre_tui.import_command import cmd_export_runbook, register

REPO = Path(__file__).resolve().parent.parent
SHIPPED = sorted((REPO / "runbooks").glob("*.yaml"))


def kill_switches() -> list[str]:
    return load_config(str(REPO / "config" / "sre-tui.yaml")).kill_switch_ids


def model(text: str, name: str = "x.yaml") -> Runbook:
    runbook, problems = validate_text(text, name, kill_switches())
    assert runbook is not None, [str(p) for p in problems]
    return runbook


def stripped(value: Any) -> Any:
    """Folded YAML prose ends in a newline that Markdown paragraphs do not keep."""
    if isinstance(value, dict):
        return {key: stripped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stripped(item) for item in value]
    return value.rstrip("\n") if isinstance(value, str) else value


def round_trip(runbook: Runbook) -> tuple[Runbook, str, list[str]]:
    markdown = to_markdown(runbook)
    result = import_markdown(markdown, "exported.md", kill_switches())
    assert len(result.runbooks) == 1
    return model(to_yaml(result.runbooks[0])), markdown, result.warnings


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_runbooks_round_trip(path: Path) -> None:
    original = model(path.read_text(), path.name)
    back, _, warnings = round_trip(original)
    assert stripped(back.model_dump()) == stripped(original.model_dump())
    assert warnings == []


def test_export_is_markdown_without_embedded_data() -> None:
    original = model((REPO / "runbooks" / "high-error-rate.yaml").read_text())
    markdown = to_markdown(original)
    assert markdown.startswith("# Runbook: High error rate (AI service)\n")
    # No YAML, JSON or front-matter copy of the runbook.
    assert not markdown.startswith("---")
    assert not re.search(r"^\s*(id|sections|steps|actions|kind|title):\s", markdown, re.M)
    assert not re.search(r"^\s*[{\[]", markdown, re.M)
    languages = set(re.findall(r"^```+(\w*)$", markdown, re.M)) - {""}
    assert languages == {"sh", "promql"}
    # What a reader needs is there as prose, lists, tables and code.
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    assert sum(t.type == "table_open" for t in tokens) == 3  # variables, escalation, contacts
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert "Symptoms" in headings and "Escalation" in headings
    assert "1. Confirm the error rate and when it started" in headings
    assert "- Error rate > 5 % on the dashboard" in markdown
    assert "kubectl rollout undo deployment/{{ deployment }} -n {{ namespace }}\n```" in markdown
    assert "- **Verify:** query `error_rate` below 5.0" in markdown
    assert re.search(r"^\| 15 \| +\| Secondary on-call \| PagerDuty \|", markdown, re.M)
    assert "| Service owner | AI platform team | #ai-platform | Slack |" in markdown


TRICKY: dict[str, Any] = {
    "id": "tricky",
    "title": "Tricky *stars* _under_ `ticks` [brackets] #hash <b>tag</b> &amp; | pipe",
    "severity": "SEV1",
    "service": "svc",
    "owner": "team | two",
    "summary": "1. not a list\n# not a heading\n- not a bullet\n\nSecond paragraph with \\ slash.",
    "last_reviewed": "2024-01-01",
    "tags": ["one"],
    "alerts": ["A"],
    "urls": ["https://runbooks.example/x"],
    "variables": {
        "pod": {"description": "Pod | name", "default": "", "example": "p-1", "label": "pod"},
        "n": {"default": "3"},
    },
    "symptoms": ["> quoted", "+ plus", "`code` in *symptom*"],
    "queries": [
        {
            "id": "q1",
            "title": "Query with ```fence``` inside",
            "promql": 'sum(rate(x{a="b"}[5m]))\n/ 2',
            "unit": "",
            "normal": " padded ",
            "warn": 1.5,
            "crit": 0.5,
            "direction": "below",
            "range": "1h",
            "description": "desc _x_",
        }
    ],
    "logs": {"selector": "app=x", "container": "main", "highlight": ["a`b", "(?i)err"]},
    "checks": [
        {"id": "c1", "title": "Check 1", "service": "svc", "port": 8080, "path": "/h"},
        {"id": "c2", "title": "Check 2", "url": "https://x.example/h", "expect_status": 204},
        {"id": "c3", "title": "Check 3", "service": "svc", "port": "8080"},
    ],
    "dashboards": [{"title": "Board — with dash"}, {"title": "Link: x", "url": "https://g/x"}],
    "sections": [
        {
            "id": "s1",
            "kind": "triage",
            "title": "Summary",
            "steps": [
                {
                    "id": "st1",
                    "title": "2. Numbered title",
                    "text": "Line one\nline two\n\nPara two",
                    "command": "echo '```' && printf '%s\\n' \"$X\"\ncat <<EOF\nx\nEOF",
                    "expect": "ok | fine",
                    "focus": {"pane": "logs", "filter": "(?i)x`y"},
                    "action": "a-env",
                    "read_only": True,
                    "command_timeout_seconds": 120,
                    "verify": {"query": "q1", "above": 2},
                    "links": [{"title": "Doc"}, {"title": "Doc 2", "url": "https://d/2"}],
                }
            ],
        }
    ],
    "actions": [
        {
            "id": "a-env",
            "kind": "env",
            "title": "Env",
            "deployment": "d",
            "variable": "V",
            "from": "1",
            "to": "2",
            "value": {"type": "integer", "min": 0, "max": 10},
            "namespace": "ns",
            "container": "c",
            "description": "why",
        },
        {
            "id": "a-scale",
            "kind": "scale",
            "title": "S",
            "deployment": "d",
            "replicas": 0,
            "min_replicas": 0,
            "max_replicas": 5,
        },
        {"id": "a-restart", "kind": "restart", "title": "R", "deployment": "d"},
        {
            "id": "a-rollback",
            "kind": "rollback",
            "title": "RB",
            "deployment": "d",
            "to_revision": 3,
            "kill_switch": True,
        },
        {
            "id": "a-cm",
            "kind": "configmap",
            "title": "CM",
            "configmap": "flags",
            "key": "k.x",
            "to": "on",
            "value": {"choices": ["on", "off"]},
        },
        {
            "id": "a-http",
            "kind": "http",
            "title": "H",
            "method": "PUT",
            "url": "https://f/x",
            "body": {"enabled": True, "n": 5, "s": "txt", "nested": {"l": [1, "two", None]}},
            "headers": {"X-A": "b"},
            "auth": "env:TOKEN",
            "expect_status": [200],
            "read": {"field": "enabled"},
            "revert": {"method": "DELETE", "body": {}},
        },
        {
            "id": "a-silence",
            "kind": "silence",
            "title": "Sil",
            "matchers": {"alertname": "A"},
            "duration_minutes": 30,
            "comment": "known *issue*",
        },
        {
            "id": "a-cmd",
            "kind": "command",
            "title": "Cmd",
            "command": "ls -la | wc -l",
            "read_only": True,
            "timeout_seconds": 5,
        },
    ],
    "escalation": [
        {"after_minutes": 0, "to": "A | B", "via": "Phone", "contact": "#c", "note": "n"},
        {"severities": ["SEV1", "SEV2"], "to": "IC"},
    ],
    "contacts": [{"role": "Owner", "name": "N", "contact": "#x|y", "via": "Slack"}],
}


def test_tricky_runbook_round_trips_exactly() -> None:
    original = model(to_yaml(TRICKY))
    back, markdown, warnings = round_trip(original)
    assert back.model_dump() == original.model_dump()
    assert warnings == []
    # Escaped only where Markdown would otherwise read markup.
    assert (
        "# Runbook: Tricky \\*stars\\* \\_under\\_ \\`ticks\\` \\[brackets\\] \\#hash" in markdown
    )
    assert "- **Kind:** triage" in markdown


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    args.config = str(REPO / "config" / "sre-tui.yaml")
    args.env = None
    return args


def test_export_command_by_id_and_by_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cmd_export_runbook(_args("export-runbook", "service-timeout")) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Runbook: Service timeout handling\n")
    target = tmp_path / "timeout.md"
    path = str(REPO / "runbooks" / "service-timeout.yaml")
    assert cmd_export_runbook(_args("export-runbook", path, "-o", str(target))) == 0
    assert target.read_text() == out
    assert "wrote" in capsys.readouterr().out


def test_export_command_unknown_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_export_runbook(_args("export-runbook", "no-such-runbook")) == 1
    assert "no runbook with id 'no-such-runbook'" in capsys.readouterr().err
