"""`sre-tui lint --alerts`: Prometheus alerting rules against the runbooks they should open."""

from __future__ import annotations

import shutil
from pathlib import Path

from sre_tui.cli import main
from sre_tui.core.alert_rules import AlertRule, parse_rules

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "config" / "demo" / "alert-rules.yml"


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def books(tmp_path: Path, websocket_alerts: str = "[WebSocketBackpressureDrops]") -> Path:
    """service-timeout and websocket-overload, the latter naming only the demo's alert."""
    directory = tmp_path / "books"
    directory.mkdir()
    shutil.copy(REPO / "runbooks" / "service-timeout.yaml", directory)
    text = (REPO / "runbooks" / "websocket-overload.yaml").read_text()
    start = text.index("alerts: [")
    end = text.index("\n", start)
    (directory / "websocket-overload.yaml").write_text(
        text[:start] + f"alerts: {websocket_alerts}" + text[end:]
    )
    return directory


def lint(capsys, *args: str) -> tuple[int, list[str]]:
    code = main(["lint", *args])
    return code, capsys.readouterr().out.splitlines()


def test_demo_rules_all_map_to_runbooks(tmp_path, capsys) -> None:
    code, out = lint(capsys, "--alerts", str(RULES), str(books(tmp_path)))
    assert (code, out) == (0, [])


def test_runbook_naming_an_alert_no_rule_defines(tmp_path, capsys) -> None:
    directory = books(tmp_path, "[WebSocketBackpressureDrops, WebSocketConnectionsHigh]")
    code, out = lint(capsys, "--alerts", str(RULES), str(directory))
    path = directory / "websocket-overload.yaml"
    line = line_of(path.read_text(), "alerts: [")
    assert code == 1
    assert out == [
        f"{path}:{line}: runbook 'websocket-overload' names alert 'WebSocketConnectionsHigh', "
        "which no rule defines"
    ]


def test_dangling_runbook_url_and_alert_without_runbook(tmp_path, capsys) -> None:
    text = RULES.read_text()
    text = text.replace("runbooks/websocket-overload#triage", "runbooks/websocket-overlaod#triage")
    text = text.replace(
        "          runbook_url: https://runbooks.example.internal/runbooks/service-timeout.md\n",
        "",
    ).replace("alert: ServiceHighLatency", "alert: ServiceSlow")
    rules = tmp_path / "rules.yml"
    rules.write_text(text)
    directory = books(tmp_path)
    code, out = lint(capsys, "--alerts", str(rules), str(directory))
    timeout_book = directory / "service-timeout.yaml"
    assert code == 1
    assert out == [
        f"{timeout_book}:{line_of(timeout_book.read_text(), 'alerts: [')}: runbook "
        "'service-timeout' names alert 'ServiceHighLatency', which no rule defines",
        f"{rules}:{line_of(text, 'alert: ServiceSlow')}: alert 'ServiceSlow' has no runbook: "
        "it has no runbook_url and no runbook lists it in 'alerts'",
        f"{rules}:{line_of(text, 'websocket-overlaod')}: alert 'WebSocketBackpressureDrops': "
        "runbook_url https://runbooks.example.internal/runbooks/websocket-overlaod#triage "
        "points to runbook 'websocket-overlaod', which does not exist (and no runbook lists "
        "the URL in 'urls')",
    ]


def test_external_url_needs_the_alert_listed_by_name(tmp_path, capsys) -> None:
    text = RULES.read_text().replace(
        "https://runbooks.example.internal/runbooks/websocket-overload#triage",
        "https://wiki.example.org/ops/ws",
    )
    rules = tmp_path / "rules.yml"
    rules.write_text(text)
    # Listed by name in websocket-overload: fine, whatever the URL.
    assert lint(capsys, "--alerts", str(rules), str(books(tmp_path))) == (0, [])
    (tmp_path / "books").rename(tmp_path / "old")
    code, out = lint(capsys, "--alerts", str(rules), str(books(tmp_path, "[]")))
    assert code == 1
    assert out == [
        f"{rules}:{line_of(text, 'alert: WebSocketBackpressureDrops')}: alert "
        "'WebSocketBackpressureDrops' has no runbook: its runbook_url "
        "https://wiki.example.org/ops/ws is not one of ours and no runbook lists it in 'alerts'"
    ]
    # Declared as ours, the same URL must resolve.
    code, out = lint(
        capsys,
        "--alerts",
        str(rules),
        "--runbook-base",
        "https://wiki.example.org/ops/",
        str(tmp_path / "books"),
    )
    assert code == 1 and "points to runbook 'ws', which does not exist" in out[0]


def test_url_and_name_disagree(tmp_path, capsys) -> None:
    directory = books(tmp_path, "[WebSocketBackpressureDrops, ServiceTimeouts]")
    text = (directory / "service-timeout.yaml").read_text()
    (directory / "service-timeout.yaml").write_text(
        text.replace(
            "alerts: [ServiceTimeouts, ServiceHighLatency]", "alerts: [ServiceHighLatency]"
        )
    )
    code, out = lint(capsys, "--alerts", str(RULES), str(directory))
    assert code == 1
    assert out == [
        f"{RULES}:{line_of(RULES.read_text(), 'runbooks/service-timeout')}: alert "
        "'ServiceTimeouts' opens runbook 'service-timeout' (by runbook_url) but runbook "
        "'websocket-overload' lists it in 'alerts'"
    ]


def test_parse_rules_templates_records_and_broken_files() -> None:
    text = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
spec:
  groups:
    - name: g
      rules:
        - record: job:up:sum
          expr: sum(up)
        - alert: Down
          expr: up == 0
          labels: {team: core}
          annotations:
            runbook_url: https://rb.example/runbooks/{{ $labels.alertname | toLower }}
        - alert: Named
          annotations:
            runbook_url: https://rb.example/runbooks/{{ $labels.team }}/{{ .Labels.alertname }}
          labels: {team: core}
        - expr: nothing
"""
    rules, problems = parse_rules(text, "r.yml")
    assert [str(p) for p in problems] == ["r.yml:18: a rule needs 'alert' or 'record'"]
    assert [(r.name, r.line, r.url_line) for r in rules] == [("Down", 9, 13), ("Named", 14, 16)]
    assert rules[0].resolved_url() is None  # a filter: only known when the alert fires
    assert rules[1].resolved_url() == "https://rb.example/runbooks/core/Named"
    assert AlertRule("X", "f", 1).resolved_url() is None
    _, problems = parse_rules("groups: {a: 1}\n", "bad.yml")
    assert [str(p) for p in problems] == ["bad.yml:1: expected a mapping with 'groups'"]
    _, problems = parse_rules("groups: [\n", "bad.yml")
    assert problems and problems[0].message.startswith("YAML error")


def test_missing_rule_file(tmp_path, capsys) -> None:
    code, out = lint(capsys, "--alerts", str(tmp_path / "nope.yml"), str(books(tmp_path)))
    assert code == 1
    assert out[0] == f"{tmp_path / 'nope.yml'}:0: cannot read: No such file or directory"
