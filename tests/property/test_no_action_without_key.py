"""A runbook cannot make the app run a command or apply an action without the user
pressing a key on it: opening an incident and moving over every step (which drives the
panes) executes nothing — no audit entry, no ACTION event, no process started."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sre_tui.backends.config_files import EXAMPLE_CONFIG, load_config
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.core.incident import EventKind
from sre_tui.ui.app import create_app
from sre_tui.ui.screens.incident import IncidentScreen
from sre_tui.ui.screenshots import FrozenClock, offline
from sre_tui.ui.widgets.checklist import Checklist
from sre_tui.workspace import Workspace
from tests.property.strategies import RUNBOOK_FILES
from tests.uitools import wait_until

# Markup, links and key-like text in every field a step shows; a command that would
# leave a trace if it ever ran.
HOSTILE_MARKUP = [
    "[@click=app.quit]quit[/]",
    "[@click=screen.action_run()]run[/]",
    "[link=https://evil.example]link[/link]",
    "[b]bold[/b] [/] [",
    "\\[escaped] ctrl+c enter y",
]


def hostile_runbook(index: int, markup: str) -> str:
    quoted = markup.replace("\\", "\\\\").replace('"', '\\"')
    return f"""\
id: hostile-{index}
title: "Hostile {index} {quoted}"
severity: SEV2
summary: "{quoted}"
variables:
  deployment:
    description: "{quoted}"
    default: web
symptoms: ["{quoted}"]
actions:
  - id: scale-up
    kind: scale
    title: "Scale {quoted}"
    deployment: "{{{{ deployment }}}}"
    replicas: 3
    max_replicas: 10
  - id: run-it
    kind: command
    title: "Run {quoted}"
    command: touch /tmp/sre-tui-hostile-{index}
sections:
  - id: triage
    kind: triage
    title: "Triage {quoted}"
    steps:
      - id: cmd
        title: "Command {quoted}"
        text: "{quoted}"
        command: touch /tmp/sre-tui-hostile-step-{index} # {quoted}
        expect: "{quoted}"
      - id: act
        title: "Action {quoted}"
        text: "y enter {quoted}"
        action: scale-up
      - id: run
        title: "Run {quoted}"
        action: run-it
"""


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt to start a process, recorded and refused."""
    calls: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise OSError("a process was started during the test")

    async def refuse_async(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise OSError("a process was started during the test")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(asyncio, "create_subprocess_exec", refuse_async)
    monkeypatch.setattr(asyncio, "create_subprocess_shell", refuse_async)
    return calls


@pytest.fixture(scope="module")
def runbook_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("runbooks")
    for path in RUNBOOK_FILES:
        (directory / path.name).write_text(path.read_text())
    for index, markup in enumerate(HOSTILE_MARKUP):
        (directory / f"hostile-{index}.yaml").write_text(hostile_runbook(index, markup))
    return directory


# The regular suite walks the runbooks with the most commands and actions (about 4 s
# each); SRE_TUI_EVERY_RUNBOOK=1 walks all of them.
BUSIEST = ["service-timeout", "high-error-rate", "disaster-recovery", "tool-service-down"]
SHIPPED = (
    [p.stem for p in RUNBOOK_FILES]
    if os.environ.get("SRE_TUI_EVERY_RUNBOOK")
    else [p.stem for p in RUNBOOK_FILES if p.stem in BUSIEST]
)
RUNBOOK_IDS = SHIPPED + [f"hostile-{i}" for i in range(len(HOSTILE_MARKUP))]


@pytest.mark.parametrize("runbook_id", RUNBOOK_IDS)
async def test_moving_over_every_step_runs_nothing(
    runbook_id: str, runbook_dir: Path, isolated_state: Path, recorded: list[Any]
) -> None:
    store = IncidentStore(isolated_state, suffix=lambda: "7f3a")
    loaded_config = offline(load_config(str(EXAMPLE_CONFIG)))
    workspace = Workspace.open(loaded_config, "staging", store=store, runbook_paths=[runbook_dir])
    assert not workspace.runbooks.problems, workspace.runbooks.problems
    loaded = workspace.find_runbook(runbook_id)
    assert loaded is not None
    clock = FrozenClock()
    given = {
        name: variable.example or "web"
        for name, variable in loaded.runbook.variables.items()
        if variable.default is None
    }
    active = workspace.start(loaded, given=given, now=clock())
    steps = sum(len(section.steps) for section in loaded.runbook.sections)
    app = create_app(workspace, active, clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        screen = app.screen
        checklist = screen.query_one(Checklist)
        # The keys a user moves with, then every step highlighted in turn (each drives the
        # panes as the key would; pressing through 20 steps costs seconds per runbook).
        await pilot.press("down", "down", "up")
        seen = set()
        for index in range(checklist.option_count):
            option = checklist.get_option_at_index(index)
            if option.disabled:
                continue  # a section title
            checklist.highlighted = index
            await pilot.pause()
            seen.add(option.id)
        assert len(seen) == steps
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running and app.screen is screen
        events = screen.incident.events
    assert recorded == []
    assert [e for e in events if e.kind is EventKind.ACTION] == []
    on_disk = workspace.store.load(active.incident.id).incident
    assert [e for e in on_disk.events if e.kind is EventKind.ACTION] == []
    audit = workspace.audit_path
    assert not audit.exists() or audit.read_text().strip() == ""
