"""The runbook list: invalid runbooks skipped with a visible warning, filter, sort."""

from __future__ import annotations

import shutil
from pathlib import Path

from sre_tui.backends.config_files import EXAMPLE_CONFIG, load_config
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.ui.app import create_app
from sre_tui.ui.screens.incident import IncidentScreen
from sre_tui.ui.screenshots import offline
from sre_tui.workspace import Workspace
from tests.uitools import screen_text, wait_until

REPO = Path(__file__).resolve().parent.parent


def workspace_with(tmp_path: Path, files: dict[str, str]) -> Workspace:
    books = tmp_path / "books"
    books.mkdir()
    for name in ("service-timeout.yaml", "memory-leak.yaml", "service-down.yaml"):
        shutil.copy(REPO / "runbooks" / name, books / name)
    for name, text in files.items():
        (books / name).write_text(text)
    return Workspace.open(
        offline(load_config(str(EXAMPLE_CONFIG))),
        "staging",
        store=IncidentStore(tmp_path / "state"),
        runbook_paths=[books],
    )


async def test_invalid_runbooks_are_skipped_with_a_visible_warning(tmp_path, clock) -> None:
    broken = (
        "id: broken\ntitle: Broken\nseverity: SEV9\n"
        "sections: [{id: a, kind: triage, title: T, steps: [{id: s, title: S}]}]\n"
    )
    workspace = workspace_with(tmp_path, {"broken.yaml": broken})
    app = create_app(workspace, clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "1 runbook problem(s); invalid runbooks skipped" in text
        assert "broken.yaml:3: severity" in text
        assert "Service timeout handling" in text and "Memory leak" in text


async def test_filter_sort_and_start(tmp_path, clock) -> None:
    workspace = workspace_with(tmp_path, {})
    app = create_app(workspace, clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        rows = lambda: [line for line in screen_text(app).splitlines() if "SEV" in line]  # noqa: E731
        # Sorted by severity by default: SEV1 first. (Wait for the frame: a just-filled
        # table can show one frame with its columns still at header width.)
        await wait_until(pilot, lambda: bool(rows()) and "Service is down" in rows()[0], 15)
        await pilot.press("ctrl+s")  # → by title
        await wait_until(pilot, lambda: "Memory leak" in rows()[0], 15)
        await pilot.press(*"memory")
        await wait_until(pilot, lambda: len(rows()) == 1 and "Memory leak" in rows()[0], 15)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        assert app.screen.incident.runbook_id == "memory-leak"


def test_steps_may_name_configured_kill_switches(tmp_path, capsys) -> None:
    from sre_tui.cli import main

    text = (REPO / "runbooks" / "service-timeout.yaml").read_text()
    text = text.replace("action: scale-up\n", "action: disable-ai\n", 1)
    (tmp_path / "a.yaml").write_text(text)
    assert main(["lint", str(tmp_path / "a.yaml")]) == 0
    (tmp_path / "a.yaml").write_text(text.replace("action: disable-ai", "action: nope", 1))
    assert main(["lint", str(tmp_path / "a.yaml")]) == 1
    assert "names unknown action 'nope'" in capsys.readouterr().out
