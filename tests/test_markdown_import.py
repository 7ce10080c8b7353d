"""`sre-tui import`: Markdown runbooks (the seeds, public alert runbooks, messy files) → YAML."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from sre_tui.core.lint import validate_text
from sre_tui.core.markdown_import import ImportFailed, import_markdown, to_yaml
from sre_tui.core.runbook import Runbook
from sre_tui.import_command import cmd_import, register

FIXTURES = Path(__file__).parent / "fixtures" / "markdown"
# Copies of the project's four seed documents.
OPERATIONAL = FIXTURES / "seed-operational-runbooks.md"
TEMPLATE = FIXTURES / "seed-runbook-template.md"
GUIDE = FIXTURES / "seed-runbook-writing-guide.md"
PLAN = FIXTURES / "seed-runbooks-plan.md"


def lint_clean(runbooks: list[dict[str, Any]]) -> dict[str, Runbook]:
    """Every runbook's YAML passes lint; returns the validated models by id."""
    models = {}
    for data in runbooks:
        text = to_yaml(data)
        model, problems = validate_text(text, f"{data['id']}.yaml")
        assert not problems, (data["id"], [str(p) for p in problems])
        assert model is not None
        models[model.id] = model
    return models


def load(path: Path) -> tuple[dict[str, Runbook], list[str]]:
    result = import_markdown(path.read_text(encoding="utf-8"), str(path))
    return lint_clean(result.runbooks), result.warnings


def commands(runbook: Runbook) -> list[str]:
    return [step.command for _, step in runbook.steps() if step.command]


def fence_commands(text: str, heading: str) -> list[str]:
    """The command lines of the fenced blocks under `heading` (for cross-checking)."""
    part = text.split(heading, 1)[1].split("\n---", 1)[0]
    lines = []
    for block in re.findall(r"```\w*\n(.*?)```", part, re.S):
        lines += [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
    return lines


# --- The operational runbooks seed -----------------------------------------------------


def test_operational_seed_gives_its_four_runbooks() -> None:
    runbooks, _ = load(OPERATIONAL)
    titles = sorted(r.title for r in runbooks.values())
    assert titles == [
        "Input Validation Failure Handling",
        "Service Timeout Handling",
        "Tool Service Failure Recovery",
        "WebSocket Overload Management",
    ]


def test_timeout_runbook_keeps_symptoms_commands_toggles_and_dashboards() -> None:
    runbooks, _ = load(OPERATIONAL)
    rb = runbooks["service-timeout-handling"]
    assert rb.tags == ["timeout"]
    assert rb.symptoms == [
        "High latency metrics (P95 > 500ms)",
        "Timeout errors in logs",
        "Circuit breaker activations",
    ]
    # Immediate actions: one step per inline command, titled by its text.
    triage = next(s for s in rb.sections if s.title == "Immediate Actions")
    assert [(s.title, s.command) for s in triage.steps] == [
        ("Check service health", "curl http://service:port/health"),
        ("Check resource usage", "kubectl top pods -n production"),
        ("Check logs", "kubectl logs -f deployment/service-name -n production"),
    ]
    # Commands: one step per command, the `#` comment as its title.
    text = OPERATIONAL.read_text()
    expected = fence_commands(text, "### TIMEOUT:")
    assert len(expected) == 4
    assert set(expected) <= set(commands(rb))
    scale = next(step for _, step in rb.steps() if step.command and "scale" in step.command)
    assert scale.title == "Scale up if needed"
    assert scale.command == "kubectl scale deployment service-name --replicas=3 -n production"
    # Environment toggles: env actions with from/to and an integer value spec.
    toggles = {a.variable: a for a in rb.actions if a.kind == "env"}
    assert {v: (a.from_value, a.to_value) for v, a in toggles.items()} == {
        "TIMEOUT_THRESHOLD_MS": ("5000", "10000"),
        "CIRCUIT_BREAKER_TIMEOUT": ("30000", "60000"),
        "MAX_RETRIES": ("3", "5"),
    }
    assert all(a.value.type == "integer" for a in toggles.values())
    assert toggles["TIMEOUT_THRESHOLD_MS"].deployment == "{{ deployment }}"
    assert rb.variables["deployment"].default == "service-name"
    referenced = {step.action for _, step in rb.steps() if step.action}
    assert {a.id for a in toggles.values()} <= referenced
    # Dashboards: Grafana and Jaeger as links, the Prometheus metric as a query.
    assert [d.title for d in rb.dashboards] == [
        "Grafana: Service Latency Dashboard",
        "Jaeger: Service traces",
    ]
    assert [(q.id, q.promql) for q in rb.queries] == [
        ("service_latency_histogram", "service_latency_histogram")
    ]


def test_operational_toggles_infer_value_types() -> None:
    runbooks, _ = load(OPERATIONAL)
    validation = {a.variable: a for a in runbooks["input-validation-failure-handling"].actions}
    strict = validation["VALIDATION_STRICT_MODE"]
    assert (strict.from_value, strict.to_value, strict.value.type) == (None, "false", "boolean")
    assert strict.description == "for temporary relief"
    assert validation["LOG_VALIDATION_ERRORS"].to_value == "true"
    assert validation["VALIDATION_TIMEOUT_MS"].value.type == "integer"
    ws = {a.variable: a for a in runbooks["websocket-overload-management"].actions}
    backpressure = ws["BACKPRESSURE_THRESHOLD"]
    assert (backpressure.from_value, backpressure.to_value) == ("0.8", "0.9")
    assert backpressure.value.type == "number"
    # Two Prometheus metrics → two queries.
    ws_queries = [q.promql for q in runbooks["websocket-overload-management"].queries]
    assert ws_queries == ["websocket_connections_active", "websocket_backpressure_drops"]


def test_operational_seed_every_command_is_kept() -> None:
    runbooks, _ = load(OPERATIONAL)
    text = OPERATIONAL.read_text()
    for heading, rb_id in (
        ("### TOOL_DOWN:", "tool-service-failure-recovery"),
        ("### VALIDATION_FAIL:", "input-validation-failure-handling"),
        ("### WS_OVERLOAD:", "websocket-overload-management"),
    ):
        assert set(fence_commands(text, heading)) <= set(commands(runbooks[rb_id])), heading
    validation = commands(runbooks["input-validation-failure-handling"])
    assert (
        'kubectl logs -f deployment/service-name -n production | grep -i "validation failed"'
        in validation
    )


def test_operational_seed_escalation_and_post_incident_reach_every_runbook() -> None:
    runbooks, warnings = load(OPERATIONAL)
    for rb in runbooks.values():
        escalation = next(s for s in rb.sections if s.kind == "escalation")
        assert [s.title for s in escalation.steps] == [
            "Escalate to Level 1: On-Call Engineer",
            "Escalate to Level 2: Senior Engineer",
            "Escalate to Level 3: Engineering Manager",
        ]
        assert "Advanced troubleshooting" in escalation.steps[1].text
        post = next(s for s in rb.sections if s.kind == "post-incident")
        assert post.steps[0].title == "Incident Report: Document incident details"
    assert any("escalation levels have no times" in w for w in warnings)
    # General sections that belong to no runbook are named in a warning, not dropped silently.
    unmapped = next(w for w in warnings if w.startswith("not part of any runbook"))
    assert "Database Troubleshooting" in unmapped and "Critical Alerts (P0)" in unmapped


# --- The runbook template seed ---------------------------------------------------------


def test_template_seed_gives_one_runbook_per_common_issue() -> None:
    runbooks, _ = load(TEMPLATE)
    assert [r.title for r in runbooks.values()] == [
        "High Error Rate",
        "High Latency",
        "Cost Spike",
        "Safety Alert",
        "Model Provider Outage",
    ]
    rb = runbooks["high-error-rate"]
    assert rb.symptoms == ["Error rate > 5% on dashboard"]
    assert rb.alerts == ["high_error_rate"]
    resolution = next(s for s in rb.sections if s.title == "Resolution")
    assert [s.title for s in resolution.steps] == [
        "Check if deployment-related → Rollback if yes",
        "Check model provider status → Wait or switch if down",
        "Check for traffic spike → Enable rate limiting",
        "Escalate if unclear",
    ]
    diagnosis = next(s for s in rb.sections if s.title == "Diagnosis")
    assert [s.title for s in diagnosis.steps] == [
        "Check recent errors",
        "Check model provider status",
    ]
    assert "[log query command]" in diagnosis.steps[0].text
    outage = runbooks["model-provider-outage"]
    assert [s.title for s in outage.sections[0].steps] == [
        "Check provider status page",
        "Check if affecting all requests or some",
    ]
    safety = runbooks["safety-alert"]
    assert any("Always escalate SEV1/SEV2 safety issues" in s.title for _, s in safety.steps())


def test_template_seed_kill_switches_thresholds_health_and_escalation() -> None:
    runbooks, warnings = load(TEMPLATE)
    for rb in runbooks.values():
        kill = {a.id: a for a in rb.actions if a.kill_switch}
        assert [(a.kind, a.deployment) for a in kill.values()] == [("rollback", "{{ deployment }}")]
        switches = next(s for s in rb.sections if s.title == "Kill switches")
        assert [s.title for s in switches.steps] == [
            "Kill switch: Feature flag (Disable AI feature)",
            "Kill switch: Rate limit (Block all traffic)",
            "Kill switch: Rollback (Revert to previous version)",
        ]
        assert switches.steps[2].action in kill
        assert switches.steps[0].action is None  # no command or URL: kept as a step
        queries = {q.title: q for q in rb.queries}
        assert (queries["Error rate"].warn, queries["Error rate"].crit) == (5, 10)
        assert queries["Error rate"].unit == "%"
        assert queries["Error rate"].normal == "< 1%"
        assert (queries["Latency p99"].warn, queries["Latency p99"].crit) == (5, 10)
        assert queries["Latency p99"].unit == "s"
        assert (queries["Request rate"].warn, queries["Request rate"].crit) == (2, 5)
        assert [(c.path, c.expect_status, c.meaning) for c in rb.checks] == [
            ("/health", 200, "Service is running"),
            ("/health/ready", 200, "Service can handle traffic"),
            ("/health/live", 200, "Service is not deadlocked"),
        ]
        assert [
            (e.after_minutes, [s.value for s in e.severities], e.to) for e in rb.escalation
        ] == [
            (15, [], "Secondary On-Call"),
            (30, [], "Engineering Lead"),
            (None, ["SEV1", "SEV2"], "Incident Commander"),
        ]
        assert [c.role for c in rb.contacts][:2] == ["Primary On-Call", "Secondary On-Call"]
    assert sum("kill switch 'Feature flag'" in w for w in warnings) == 1
    assert any("severity definitions" in w and "SEV1: Service down" in w for w in warnings)
    assert any("has no PromQL" in w and "error_rate" in w for w in warnings)
    assert any("safety_trigger" in w for w in warnings)


# --- The runbook-writing guide (a template pasted inside a ```markdown fence) -----------


def test_guide_gives_troubleshooting_and_emergency_cases() -> None:
    runbooks, warnings = load(GUIDE)
    assert [r.title for r in runbooks.values()] == [
        "High Response Times",
        "Memory Leak",
        "Database Connection Errors",
        "Service is Down",
        "Data Corruption",
    ]
    assert any("```markdown fence" in w for w in warnings)
    slow = runbooks["high-response-times"]
    assert slow.symptoms == ["p95 latency > 500ms"]
    assert "kubectl top pods -n production -l app={{ service_name }}" in commands(slow)
    assert "redis-cli --stat" in commands(slow)
    assert slow.variables["service_name"].default == "service-name"
    fix = next(s for s in slow.sections if s.title == "Fix")
    assert [s.title for s in fix.steps][:2] == [
        "Scale up pods if CPU/memory constrained",
        "Optimize database queries",
    ]


def test_guide_placeholders_in_quotes_stay_as_written() -> None:
    runbooks, warnings = load(GUIDE)
    db = commands(runbooks["database-connection-errors"])
    connection = next(c for c in db if "pg_stat_activity WHERE datname" in c)
    assert connection.startswith("psql -h {{ db_host }} -U {{ user }} -c ")
    assert "datname='[db-name]'" in connection
    assert any("[db-name] sits inside quotes" in w for w in warnings)


def test_guide_emergency_cases_keep_commands_and_escalation() -> None:
    runbooks, _ = load(GUIDE)
    down = runbooks["service-is-down"]
    assert [s.title for s in down.sections[:3]] == [
        "First response",
        "Immediate Actions",
        "If restart doesn't work",
    ]
    assert down.sections[2].kind == "remediation"
    assert "kubectl rollout undo deployment/{{ service_name }} -n production" in commands(down)
    rules = [(e.after_minutes, e.to) for e in down.escalation]
    assert rules[:3] == [
        (5, "secondary on-call"),
        (15, "team lead"),
        (30, "Invoke disaster recovery"),
    ]
    assert (15, "Team Lead") in rules and (30, "Engineering Manager") in rules
    corruption = runbooks["data-corruption"]
    cmds = commands(corruption)
    assert "kubectl set env deployment/{{ service_name }} READ_ONLY=true -n production" in cmds
    restore = next(c for c in cmds if c.startswith("aws rds restore-db-instance"))
    assert "--db-snapshot-identifier {{ snapshot_id }}" in restore
    sql = next(s for _, s in corruption.steps() if s.title == "Check data integrity")
    assert sql.command is None and "SELECT COUNT(*)" in sql.text


# --- The runbooks plan -----------------------------------------------------------------


def test_plan_gives_one_runbook_per_listed_alert() -> None:
    runbooks, warnings = load(PLAN)
    assert {r.title: r.severity.value for r in runbooks.values()} == {
        "High API Error Rate": "SEV1",
        "AI Gateway Unreachable": "SEV1",
        "Tenant Data Leak Suspected": "SEV1",
        "High API Latency": "SEV2",
        "Durable Object Errors": "SEV2",
        "Vectorize Errors": "SEV2",
        "High Rate Limiting": "SEV3",
        "Ingestion Pipeline Lag": "SEV3",
        "High AI Costs": "SEV3",
    }
    lag = runbooks["ingestion-pipeline-lag"]
    assert (
        lag.summary == "Triggered when the ingest-worker is falling behind on processing documents."
    )
    assert lag.alerts == ["IngestionPipelineLag"]
    assert runbooks["tenant-data-leak-suspected"].alerts == []  # a manual trigger
    assert any("Runbook: [Alert Name]" in w and "template" in w for w in warnings)


# --- Prometheus alert runbooks and messy Markdown --------------------------------------


def test_prometheus_alert_runbook_shape() -> None:
    runbooks, warnings = load(FIXTURES / "prometheus-alert.md")
    (rb,) = runbooks.values()
    assert rb.alerts == ["KubePodCrashLooping"]
    assert rb.summary.startswith("Pod is in CrashLoop")
    assert "Impact: Service degradation" in rb.summary
    assert [s.kind.value for s in rb.sections] == ["diagnosis", "mitigation"]
    cmds = commands(rb)
    assert "kubectl -n {{ namespace }} get pod {{ pod }} -o yaml" in cmds
    assert "kubectl -n {{ namespace }} rollout undo deployment/{{ deployment }}" in cmds
    previous = next(s for _, s in rb.steps() if s.title == "Check logs of the previous container")
    assert previous.command == "kubectl -n {{ namespace }} logs {{ pod }} --previous"
    assert "namespace" not in rb.variables  # every environment provides it
    assert rb.variables["pod"].default == "pod"
    assert any("<pod> sits inside quotes" in w for w in warnings)
    assert any("not sre-tui placeholders" in w for w in warnings)


def test_messy_markdown_is_read() -> None:
    runbooks, warnings = load(FIXTURES / "messy.md")
    backlog = runbooks["queue-backlog-growing"]
    assert backlog.symptoms == ["consumer lag above 10k"]
    assert "kafka-consumer-groups --describe --group {{ group_name }}" in commands(backlog)
    scale = next(s for _, s in backlog.steps() if s.title == "Scale consumers")
    assert scale.command == "kubectl scale deployment consumer --replicas=6 -n jobs"
    assert scale.expect == "Lag starts dropping within 5 minutes"
    pause = next(s for _, s in backlog.steps() if s.title == "Pause producers")
    assert "nested numbered item" in pause.text
    kinds = {a.id: (a.kind, a.kill_switch) for a in backlog.actions}
    assert kinds == {"kill-pause-ingest": ("env", True), "kill-drop-flag": ("http", True)}
    env = backlog.action("kill-pause-ingest")
    assert (env.variable, env.to_value) == ("PAUSED", "true")
    assert any("kill switch 'Mystery'" in w for w in warnings)
    down = runbooks["database-down"]
    assert "pg_isready -h db" in commands(down)
    assert [(e.after_minutes, e.to) for e in down.escalation] == [(10, "the DBA")]
    assert any("(text before the first heading)" in w for w in warnings)


def test_runbook_pasted_in_a_markdown_fence_is_recovered() -> None:
    runbooks, warnings = load(FIXTURES / "pasted-in-fence.md")
    (rb,) = runbooks.values()
    assert rb.title == "Card declines spike"
    assert commands(rb) == [
        "kubectl logs deployment/payments -n prod --since=10m | grep -c DECLINED"
    ]
    assert [s.title for s in rb.sections[-1].steps] == [
        "Check the processor status page",
        "Roll back if a deploy happened",
    ]
    unmapped = next(w for w in warnings if w.startswith("not part of any runbook"))
    assert "Architecture" in unmapped and "After the template" in unmapped


def test_windows_line_endings_give_the_same_result() -> None:
    text = (FIXTURES / "messy.md").read_text()
    assert import_markdown(text.replace("\n", "\r\n")) == import_markdown(text)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\n", "just a sentence", "# Title only\n", "| a |\n|---|\n| b |\n", "\x00\x01"],
)
def test_no_runbook_is_a_clear_error(text: str) -> None:
    with pytest.raises(ImportFailed, match=r"no runbook found|empty"):
        import_markdown(text)


def test_placeholder_inside_quotes_and_braces_stay_lint_clean() -> None:
    text = (
        "# Alert: PodsPending\n\n**Symptoms:** pods `Pending`\n\n**Diagnosis:**\n\n"
        "```sh\nkubectl get pods -n <namespace> -l \"app=<app>\" -o go-template='{{.x}}'\n"
        "psql $DATABASE_URL -c 'select 1'\n```\n"
    )
    result = import_markdown(text)
    (rb,) = lint_clean(result.runbooks).values()
    cmds = commands(rb)
    assert cmds[0].startswith('kubectl get pods -n {{ namespace }} -l "app=<app>"')
    assert cmds[1] == "psql $DATABASE_URL -c 'select 1'"
    assert rb.alerts == ["PodsPending"]


def test_a_one_megabyte_file_is_fast() -> None:
    """A runbook with the bulk a real document drags along: prose, a pasted log, a table."""
    messy = (FIXTURES / "messy.md").read_text()
    log = "\n".join(
        f"2024-01-01T00:00:{i % 60:02d}Z ERROR worker-{i % 7} req {i} timed out"
        for i in range(16000)
    )
    prose = "\n\n".join("The service degrades when the queue grows; " * 12 for _ in range(450))
    rows = "\n".join(f"| metric_{i} | < {i}% | > {i + 5}% | > {i + 10}% |" for i in range(1500))
    text = (
        f"{messy}\n# Appendix\n\n{prose}\n\n```\n{log}\n```\n\n## Key Metrics\n\n"
        f"| Metric | Normal | Warning | Critical |\n|---|---|---|---|\n{rows}\n"
    )
    assert len(text) > 1_000_000
    start = time.perf_counter()
    result = import_markdown(text)
    elapsed = time.perf_counter() - start
    runbooks = lint_clean(result.runbooks)
    assert len(runbooks["queue-backlog-growing"].queries) == 1500
    unmapped = next(w for w in result.warnings if w.startswith("not part of any runbook"))
    assert unmapped.endswith("Appendix")
    assert elapsed < 3, elapsed


def test_many_runbooks_in_one_file() -> None:
    messy = (FIXTURES / "messy.md").read_text()
    issue = messy.split("#### Issue: Queue backlog growing", 1)[1].split("##### Kill", 1)[0]
    text = "# Book\n\n## Common Issues\n" + "".join(
        f"\n### Issue: Backlog {n}\n{issue}" for n in range(500)
    )
    start = time.perf_counter()
    result = import_markdown(text)
    assert time.perf_counter() - start < 4
    assert len(result.runbooks) == 500
    assert result.runbooks[499]["id"] == "backlog-499"
    assert not [w for w in result.warnings if ": lint: " in w]


# --- The command ------------------------------------------------------------------------


def _args(tmp_path: Path, *files: str, force: bool = False) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    argv = ["import", *files, "-o", str(tmp_path / "out")] + (["--force"] if force else [])
    args = parser.parse_args(argv)
    args.config = None
    args.env = None
    return args


def test_import_command_writes_lint_clean_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = FIXTURES / "messy.md"
    assert cmd_import(_args(tmp_path, str(source))) == 0
    out, err = capsys.readouterr()
    written = sorted((tmp_path / "out").glob("*.yaml"))
    assert [p.name for p in written] == ["database-down.yaml", "queue-backlog-growing.yaml"]
    assert out.count("wrote ") == 2 and "queue-backlog-growing.yaml" in out
    assert "warning:" in err and "kill switch 'Mystery'" in err
    for path in written:
        model, problems = validate_text(path.read_text(), str(path))
        assert model is not None and not problems
    # A second run refuses to overwrite without --force.
    assert cmd_import(_args(tmp_path, str(source))) == 1
    assert "exists; not overwritten" in capsys.readouterr().err
    assert cmd_import(_args(tmp_path, str(source), force=True)) == 0


def test_import_command_unreadable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cmd_import(_args(tmp_path, str(tmp_path / "missing.md"))) == 1
    assert "cannot read" in capsys.readouterr().err
    binary = tmp_path / "bin.md"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80")
    assert cmd_import(_args(tmp_path, str(binary))) == 1
    assert "cannot read" in capsys.readouterr().err
    empty = tmp_path / "empty.md"
    empty.write_text("nothing to see\n")
    assert cmd_import(_args(tmp_path, str(empty))) == 1
    assert "no runbook found" in capsys.readouterr().err
