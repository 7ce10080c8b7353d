"""The runbook list follows the directory: new files appear, broken ones show their errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable

from sre_tui.backends.config_files import EXAMPLE_CONFIG, load_config
from sre_tui.backends.incident_store import IncidentStore
from sre_tui.ui.app import create_app
from sre_tui.ui.dialogs.text_view import TextView
from sre_tui.ui.screens import picker
from sre_tui.ui.screens.picker import PickerScreen
from sre_tui.ui.screenshots import offline
from sre_tui.workspace import Workspace
from tests.uitools import wait_until

REPO = Path(__file__).resolve().parent.parent

BROKEN = """\
id: broken
title: Broken
severity: SEV9
sections:
  - id: a
    kind: nope
    title: T
    steps: [{id: s, title: S, colour: red}]
"""


def workspace_in(tmp_path: Path) -> tuple[Workspace, Path]:
    books = tmp_path / "books"
    books.mkdir()
    shutil.copy(REPO / "runbooks" / "service-timeout.yaml", books / "service-timeout.yaml")
    workspace = Workspace.open(
        offline(load_config(str(EXAMPLE_CONFIG))),
        "staging",
        store=IncidentStore(tmp_path / "state"),
        runbook_paths=[books],
    )
    return workspace, books


def rows(app) -> list[str]:
    """The runbook list's rows as a user reads them (cells joined by spaces).

    Read from the table rather than from the rendered screen: a freshly filled DataTable
    may draw one frame with its columns still at the header's width."""
    screen = app.screen
    if not isinstance(screen, PickerScreen):
        return []
    table = screen.query_one("#runbooks", DataTable)
    return [
        " ".join(str(cell) for cell in table.get_row_at(index)) for index in range(table.row_count)
    ]


def listed(app, text: str) -> bool:
    return any(text in row for row in rows(app))


def new_runbook_text() -> str:
    text = (REPO / "runbooks" / "memory-leak.yaml").read_text()
    return text.replace("id: memory-leak", "id: imported-leak", 1).replace(
        "title: Memory leak", "title: Imported leak runbook", 1
    )


async def test_a_new_file_appears_on_its_own(tmp_path, clock, monkeypatch) -> None:
    monkeypatch.setattr(picker, "RESCAN_SECONDS", 0.1)
    workspace, books = workspace_in(tmp_path)
    app = create_app(workspace, clock=clock)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_until(pilot, lambda: listed(app, "Service timeout handling"))
        assert not listed(app, "Imported leak runbook")
        (books / "imported-leak.yaml").write_text(new_runbook_text())
        await wait_until(pilot, lambda: listed(app, "Imported leak runbook"))
        assert len(rows(app)) == 2
        # It is a runbook like any other: Enter on it starts an incident.
        await pilot.press(*"imported", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, PickerScreen))
        assert app.screen.incident.runbook_id == "imported-leak"  # type: ignore[attr-defined]


async def test_reload_key_and_broken_file_shows_its_problems(tmp_path, clock) -> None:
    workspace, books = workspace_in(tmp_path)
    app = create_app(workspace, clock=clock)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_until(pilot, lambda: listed(app, "Service timeout handling"))
        (books / "broken-file.yaml").write_text(BROKEN)
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: listed(app, "✗ broken-file.yaml — 3 problems"))
        assert listed(app, "Service timeout handling")  # the valid one is still there
        assert rows(app)[-1].startswith(" ✗ broken-file.yaml")  # broken files last
        await pilot.press(*"broken", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TextView))
        assert app.screen.view_title == "✗ broken-file.yaml — 3 problems"
        shown = app.screen.text
        assert "broken-file.yaml:3: severity" in shown
        assert "unknown field 'sections.0.steps.0.colour'" in shown
        assert "sections.0.kind" in shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        # Fixing the file turns the ✗ row into a runbook.
        (books / "broken-file.yaml").write_text(new_runbook_text())
        await pilot.press(*["backspace"] * len("broken"), "ctrl+l")
        await wait_until(pilot, lambda: listed(app, "Imported leak runbook"))
        assert not listed(app, "broken-file.yaml")


async def test_returning_to_the_list_rescans(tmp_path, clock, monkeypatch) -> None:
    # No polling in this test: only the return to the screen may pick the file up.
    monkeypatch.setattr(picker, "RESCAN_SECONDS", 3600)
    workspace, books = workspace_in(tmp_path)
    app = create_app(workspace, clock=clock)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_until(pilot, lambda: listed(app, "Service timeout handling"))
        await pilot.press("ctrl+n")  # the "incident without a runbook" dialog
        await wait_until(pilot, lambda: not isinstance(app.screen, PickerScreen))
        (books / "imported-leak.yaml").write_text(new_runbook_text())
        await pilot.press("escape")
        await wait_until(pilot, lambda: listed(app, "Imported leak runbook"))


async def test_rescans_do_not_move_the_cursor(tmp_path, clock) -> None:
    workspace, books = workspace_in(tmp_path)
    (books / "memory-leak.yaml").write_text((REPO / "runbooks" / "memory-leak.yaml").read_text())
    app = create_app(workspace, clock=clock)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_until(pilot, lambda: listed(app, "Memory leak"))
        screen = app.screen
        assert isinstance(screen, PickerScreen)
        await pilot.press("down")
        chosen = screen.shown[1]
        # A new SEV1 runbook sorts above everything else.
        text = (REPO / "runbooks" / "service-down.yaml").read_text()
        (books / "service-down.yaml").write_text(text)
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: listed(app, "Service is down"))
        table = screen.query_one("#runbooks", DataTable)
        assert screen.shown[table.cursor_row] is not chosen  # a fresh object, same runbook
        assert screen.shown[table.cursor_row].runbook.id == chosen.runbook.id  # type: ignore[union-attr]


def test_workspace_fingerprint_changes_with_the_files(tmp_path) -> None:
    workspace, books = workspace_in(tmp_path)
    before = workspace.runbooks_fingerprint()
    assert workspace.runbooks_fingerprint() == before
    (books / "broken-file.yaml").write_text(BROKEN)
    after = workspace.runbooks_fingerprint()
    assert after != before
    assert len(workspace.runbooks.runbooks) == 1  # cached until reloaded
    reloaded = workspace.reload_runbooks()
    assert workspace.runbooks is reloaded
    [broken] = reloaded.broken()
    assert Path(broken.file).name == "broken-file.yaml" and len(broken.problems) == 3
    (books / "broken-file.yaml").unlink()
    assert workspace.runbooks_fingerprint() == before


@pytest.mark.parametrize("missing", ["nowhere"])
def test_a_missing_directory_is_listed_as_broken(tmp_path, missing) -> None:
    workspace, _ = workspace_in(tmp_path)
    workspace.runbook_paths.append(tmp_path / missing)
    [broken] = workspace.reload_runbooks().broken()
    assert broken.file.endswith(missing)
    assert "no such file or directory" in broken.problems[0].message
