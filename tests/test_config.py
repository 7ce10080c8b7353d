"""Configuration, environments and where a runbook's variable values come from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sre_tui.backends.config_files import ConfigError, load_config
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.cli import main
from sre_tui.core.config import Environment
from sre_tui.core.lint import validate_text
from sre_tui.core.runbook import Runbook
from sre_tui.core.templating import TemplateError
from sre_tui.core.variables import parse_assignments, resolve
from sre_tui.workspace import Workspace, WorkspaceError

REPO = Path(__file__).resolve().parent.parent
REPO_CONFIG = REPO / "config" / "sre-tui.yaml"

RUNBOOK = """\
# Variables from every source
id: vars
title: Vars for {{ deployment }}
severity: SEV3
variables:
  deployment: {default: web, label: app}
  namespace: {default: rb-ns, label: kubernetes_namespace}
  rate_window: {default: 1m}
  tier: {default: backend}
  region: {description: no default}
queries:
  - id: q
    title: Requests
    promql: rate(x{deployment="{{ deployment }}", region="{{ region }}"}[{{ rate_window }}])
logs:
  selector: app={{ deployment }}
sections:
  - id: s
    kind: triage
    title: Look
    steps:
      - id: a
        title: Pods of {{ tier }}
        command: kubectl get pods -n {{ namespace }} --context {{ context }} -l tier={{ tier }}
"""

ENV = Environment(
    context="stg-ctx", namespace="stg", variables={"rate_window": "5m", "tier": "env-tier"}
)


def line_of(text: str, needle: str) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, hits
    return hits[0]


@pytest.fixture
def runbook() -> Runbook:
    parsed, problems = validate_text(RUNBOOK, "vars.yaml")
    assert problems == []
    assert parsed is not None
    return parsed


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- load_config ----------------------------------------------------------------------


def test_repo_config_loads() -> None:
    loaded = load_config(str(REPO_CONFIG))
    config = loaded.config
    assert loaded.path == REPO_CONFIG
    assert config.default_environment == "staging"
    assert set(config.environments) == {"staging", "production", "production-readonly"}
    staging = config.environments["staging"]
    assert (staging.context, staging.namespace, staging.production) == ("staging", "staging", False)
    assert staging.variables == {"rate_window": "5m"}
    readonly = config.environments["production-readonly"]
    assert readonly.production and readonly.read_only
    assert config.kill_switch("disable-ai") is not None
    assert config.kill_switch("no-such-switch") is None
    # runbook_dirs are relative to the config file, not to the working directory.
    assert loaded.runbook_paths() == [(REPO / "runbooks").resolve()]


def test_sre_tui_config_env_var_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    path = write(tmp_path, "environments:\n  lab: {context: lab, namespace: lab}\n")
    monkeypatch.setenv("SRE_TUI_CONFIG", str(path))
    loaded = load_config()
    assert loaded.path == path
    assert list(loaded.config.environments) == ["lab"]


def test_undefined_default_environment_is_located(tmp_path: Path) -> None:
    text = (
        "# lab config\n"
        "default_environment: nowhere\n"
        "environments:\n"
        "  staging: {context: staging, namespace: staging}\n"
        "  dev: {context: dev}\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    message = str(info.value)
    assert re.match(rf"^{re.escape(str(path))}:\d+: ", message), message
    assert f"{path}:{line_of(text, 'default_environment')}:" in message
    assert "default_environment: 'nowhere' is not among the environments (staging, dev)" in message


def test_undefined_default_environment_points_at_its_own_line(tmp_path: Path) -> None:
    # Regression: the error is located at the default_environment line, not the top.
    text = (
        "runbook_dirs: [runbooks]\n"
        "environments:\n"
        "  staging: {context: staging, namespace: staging}\n"
        "default_environment: nowhere\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert str(info.value).startswith(f"{path}:{line_of(text, 'default_environment')}: ")


def test_environment_with_kubeconfig_needs_a_context(tmp_path: Path) -> None:
    text = (
        "environments:\n"
        "  staging:\n"
        "    context: staging\n"
        "  dev:\n"
        "    kubeconfig: ~/.kube/config\n"
        "    namespace: dev\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    [problem] = info.value.problems
    assert (problem.file, problem.line) == (str(path), line_of(text, "dev:"))
    assert problem.message == (
        "environments.dev: an environment with a kubeconfig must name its context"
    )


@pytest.mark.parametrize(
    ("text", "needle", "pattern"),
    [
        ("environments:\n  a: {namespace: Not_Valid}\n", "Not_Valid", r"namespace"),
        ("environments:\n  a: {contxt: a}\n", "contxt", r"unknown field 'environments\.a\.contxt'"),
        ("refresh:\n  metrics_seconds: 0\n", "metrics_seconds", r"greater than 0"),
    ],
)
def test_other_config_mistakes_are_located(tmp_path: Path, text, needle, pattern) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    [problem] = info.value.problems
    assert problem.line == line_of(text, needle)
    assert re.search(pattern, problem.message), problem.message


def test_unreadable_config_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read config"):
        load_config(str(tmp_path / "missing.yaml"))


# ---- environments -----------------------------------------------------------------------


def test_workspace_refuses_an_unknown_environment(tmp_path: Path) -> None:
    loaded = load_config(str(REPO_CONFIG))
    with pytest.raises(WorkspaceError) as info:
        Workspace.open(loaded, "prod", store=IncidentStore(tmp_path), runbook_paths=[tmp_path])
    assert str(info.value) == (
        "unknown environment 'prod' (configured: staging, production, production-readonly)"
    )


def test_cli_reports_an_unknown_environment_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path
) -> None:
    monkeypatch.setenv("SRE_TUI_CONFIG", str(REPO_CONFIG))
    monkeypatch.setenv("SRE_TUI_STATE_DIR", str(tmp_path))
    assert main(["--env", "prod", "incidents"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sre-tui: unknown environment 'prod'")
    assert not (tmp_path / "incidents").exists()


def test_workspace_uses_the_default_environment(tmp_path: Path) -> None:
    loaded = load_config(str(REPO_CONFIG))
    ws = Workspace.open(loaded, None, store=IncidentStore(tmp_path), runbook_paths=[tmp_path])
    assert ws.env_name == "staging"
    assert (ws.env_info.context, ws.env_info.namespace) == ("staging", "staging")
    ws = Workspace.open(
        loaded, "production-readonly", store=IncidentStore(tmp_path), runbook_paths=[tmp_path]
    )
    assert ws.env_info.production and ws.env_info.read_only


# ---- variables.resolve ------------------------------------------------------------------


def test_runbook_defaults_apply_when_nothing_else_is_given(runbook: Runbook) -> None:
    env = Environment(context="c1")  # namespace "default", no variables
    values = resolve(runbook, env_name="lab", environment=env, given={"region": "eu"})
    assert values == {
        "environment": "lab",
        "deployment": "web",
        "namespace": "default",  # the environment's namespace beats the runbook default
        "context": "c1",
        "rate_window": "1m",
        "tier": "backend",
        "region": "eu",
    }


def test_environment_beats_runbook_defaults(runbook: Runbook) -> None:
    values = resolve(runbook, env_name="stg", environment=ENV, given={"region": "eu"})
    assert values["namespace"] == "stg"
    assert values["context"] == "stg-ctx"
    assert values["rate_window"] == "5m"
    assert values["tier"] == "env-tier"
    assert values["deployment"] == "web"


def test_alert_labels_beat_the_environment(runbook: Runbook) -> None:
    labels = {
        "app": "label-app",
        "kubernetes_namespace": "label-ns",
        "tier": "label-tier",
        "region": "label-region",
        "unrelated": "ignored",
        "deployment": "not-the-label-name",
    }
    values = resolve(runbook, env_name="stg", environment=ENV, labels=labels)
    assert values["deployment"] == "label-app"  # via `label: app`
    assert values["namespace"] == "label-ns"
    assert values["tier"] == "label-tier"  # a variable without `label` uses its own name
    assert values["region"] == "label-region"
    assert values["rate_window"] == "5m"
    assert "unrelated" not in values


def test_command_line_beats_everything(runbook: Runbook) -> None:
    labels = {"app": "label-app", "kubernetes_namespace": "label-ns", "region": "label-region"}
    given = parse_assignments(
        ["deployment=cli-app", "namespace=cli-ns", "context=cli-ctx", "region=a=b", "tier="]
    )
    values = resolve(runbook, env_name="stg", environment=ENV, labels=labels, given=given)
    assert values["deployment"] == "cli-app"
    assert values["namespace"] == "cli-ns"
    assert values["context"] == "cli-ctx"
    assert values["region"] == "a=b"
    assert values["tier"] == ""
    assert values["rate_window"] == "5m"


def test_unknown_var_is_refused_with_the_known_names(runbook: Runbook) -> None:
    with pytest.raises(TemplateError) as info:
        resolve(runbook, env_name="stg", environment=ENV, given={"deploymnet": "x", "region": "eu"})
    assert str(info.value) == (
        "unknown variable(s) deploymnet for runbook 'vars' "
        "(known: deployment, namespace, rate_window, region, tier)"
    )


def test_missing_values_are_named_with_how_to_pass_them(runbook: Runbook) -> None:
    with pytest.raises(TemplateError) as info:
        resolve(runbook, env_name="none", environment=None)
    assert str(info.value) == (
        "missing value for context, region — pass --var context=VALUE --var region=VALUE"
    )


@pytest.mark.parametrize("pair", ["novalue", "=x", " =x"])
def test_malformed_var_is_refused(pair: str) -> None:
    with pytest.raises(TemplateError, match=r"is not NAME=VALUE"):
        parse_assignments([pair])


# ---- values through a real start --------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("SRE_TUI_USER", "tester")
    books = tmp_path / "runbooks"
    books.mkdir()
    (books / "vars.yaml").write_text(RUNBOOK, encoding="utf-8")
    ws = Workspace.open(
        load_config(str(REPO_CONFIG)),
        "staging",
        store=IncidentStore(tmp_path / "state"),
        runbook_paths=[books],
    )
    assert ws.runbooks.problems == []
    return ws


def test_started_incident_stores_the_resolved_values(workspace: Workspace) -> None:
    hostile = '"} or vector(1) # $(rm -rf /)'
    active = workspace.start(
        workspace.runbooks.by_id("vars"),
        given={"region": hostile},
        labels={"app": "checkout"},
    )
    rendered = active.runbook
    assert rendered is not None
    promql = rendered.query("q").promql
    assert promql == (
        'rate(x{deployment="checkout", region="\\"} or vector(1) # $(rm -rf /)"}[5m])'
    )
    assert rendered.logs.selector == "app=checkout"
    journal = workspace.store.root / active.incident.id / "events.jsonl"
    [first] = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert first["user"] == "tester"
    assert first["data"]["variables"] == {
        "environment": "staging",
        "deployment": "checkout",
        "namespace": "staging",
        "context": "staging",
        "rate_window": "5m",
        "tier": "backend",
        "region": hostile,
    }
    # Resume renders the snapshot with the stored values to the same runbook.
    assert workspace.resume(active.incident.id).runbook == rendered


def test_unsafe_label_value_stops_the_start_and_writes_nothing(workspace: Workspace) -> None:
    with pytest.raises(WorkspaceError) as info:
        workspace.start(
            workspace.runbooks.by_id("vars"),
            given={"region": "eu"},
            labels={"app": "web,tier!=x"},
        )
    assert str(info.value).startswith("runbook 'vars': value 'web,tier!=x' of 'deployment'")
    assert workspace.store.ids() == []
