"""The runbook list: filter by typing, sort by severity, Enter starts an incident.

The runbook directories are rescanned while the list is shown (a cheap modification-time
check in a thread worker every few seconds, on returning to the screen, and on ctrl+l), so
a runbook written or imported meanwhile appears at once. A file that does not pass lint is
listed too, marked ✗, and Enter shows its problems.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from sre_tui.backends.runbook_files import BrokenFile, Fingerprint, RunbookSet
from sre_tui.core.lint import Loaded
from sre_tui.core.severity import Severity
from sre_tui.ui.dialogs.new_incident import NewIncidentDialog
from sre_tui.ui.dialogs.text_view import TextView
from sre_tui.ui.widgets.footer import KeyFooter
from sre_tui.ui.widgets.incident_header import severity_style
from sre_tui.ui.widgets.table import Table

SORTS = ("file", "severity", "title")
RESCAN_SECONDS = 3.0


def _matches(loaded: Loaded, words: list[str]) -> bool:
    runbook = loaded.runbook
    haystack = " ".join(
        [
            runbook.id,
            runbook.title,
            runbook.service,
            runbook.severity.value,
            *runbook.tags,
            *runbook.alerts,
        ]
    ).casefold()
    return all(word in haystack for word in words)


def _broken_matches(broken: BrokenFile, words: list[str]) -> bool:
    return all(word in broken.file.casefold() for word in words)


def _problem_line(problem: object) -> str:
    """A problem with its file's name only (directories make the status line unreadable)."""
    file, line, message = (getattr(problem, name, None) for name in ("file", "line", "message"))
    if file is None:
        return str(problem)
    return f"{Path(str(file)).name}:{line}: {message}"


def _unchanged_since(stamp: Fingerprint, runbooks: RunbookSet | None, since_ns: int) -> bool:
    """Whether the files in `stamp` are those `runbooks` were read from, none modified
    after `since_ns` (less a second, for file systems with coarse clocks)."""
    if runbooks is None:
        return False
    read = {loaded.path for loaded in runbooks.runbooks} | {p.file for p in runbooks.problems}
    recent = since_ns - 1_000_000_000
    return {path for path, _, _ in stamp} == read and all(m < recent for _, m, _ in stamp)


def _count(problems: int) -> str:
    return f"{problems} problem{'' if problems == 1 else 's'}"


class PickerScreen(Screen[None]):
    CSS_PATH = "picker.tcss"
    HELP_TITLE = "Keys — runbooks"
    BINDINGS = [
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
        Binding("ctrl+s", "cycle_sort", "Sort", id="sort"),
        Binding("ctrl+n", "new_incident", "No runbook", id="new-incident"),
        Binding("ctrl+r", "resume", "Resume", id="resume"),
        Binding("ctrl+t", "alerts", "Alerts", id="alerts"),
        # Not in the footer (full at 80 columns); listed by ? and the command palette.
        Binding("ctrl+l", "reload", "Reload runbooks", id="reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runbooks: list[Loaded] = []
        self.problems: list[str] = []
        self.loaded = False
        self.sort = "severity"
        self.broken: list[BrokenFile] = []
        self.shown: list[Loaded | BrokenFile] = []
        self._fingerprint: Fingerprint | None = None
        self._scanning = False
        self._scan_again = False
        self._set: RunbookSet | None = None
        self._read_since = 0
        self._contents: tuple[list[tuple[str, str]], list[str]] = ([], [])

    def compose(self) -> ComposeResult:
        yield Static(id="picker-title")
        yield Input(
            placeholder="Type to filter runbooks (id, title, service, alert, tag)", id="filter"
        )
        yield Table(id="runbooks", cursor_type="row", zebra_stripes=True)
        yield Static(id="picker-problems")
        yield KeyFooter()

    def on_mount(self) -> None:
        # A blinking cursor makes headless screenshots (and snapshot tests) differ by frame.
        self.query_one(Input).cursor_blink = not self.app.is_headless
        table = self.query_one(DataTable)
        table.add_column("Sev", key="sev", width=4)
        table.add_column("Runbook", key="title")
        table.add_column("Steps", key="steps", width=5)
        table.add_column("Id", key="id")
        self.query_one("#picker-problems", Static).display = False
        self._show_title()
        # Reading and validating every runbook is file I/O: off the event loop, after
        # the first frame.
        self._scanning = True
        self.run_worker(
            lambda: self._scan(initial=True), thread=True, exit_on_error=False, group="runbooks"
        )
        self.set_interval(RESCAN_SECONDS, self.rescan)

    def rescan(self, force: bool = False) -> None:
        """Look for added, edited or removed runbook files (all of them again if `force`);
        never two scans at once, and none while another screen covers this one."""
        if not (force or self.is_current):
            return
        if self._scanning:
            self._scan_again = self._scan_again or force
            return
        self._scanning = True
        self.run_worker(
            lambda: self._scan(force=force), thread=True, exit_on_error=False, group="runbooks"
        )

    def _scan(self, *, force: bool = False, initial: bool = False) -> None:
        """In a thread: compare the files' fingerprint, read them again if it changed."""
        workspace = self.app.workspace  # type: ignore[attr-defined]
        stamp, runbooks = self._fingerprint, None
        try:
            if initial:
                # Only the list: the first frame with runbooks waits for nothing else.
                self._read_since = time.time_ns()
                runbooks = workspace.runbooks  # read now, or already by `sre-tui run`
            else:
                stamp = workspace.runbooks_fingerprint()
                if self._fingerprint is None and not force:
                    # First poll: read again only if files changed since the first read.
                    if not _unchanged_since(stamp, self._set, self._read_since):
                        runbooks = workspace.reload_runbooks()
                elif force or stamp != self._fingerprint:
                    runbooks = workspace.reload_runbooks()
        finally:  # a failed scan must not stop the next ones
            self.app.call_from_thread(self._scanned, stamp, runbooks)

    def _scanned(self, stamp: Fingerprint | None, runbooks: RunbookSet | None) -> None:
        self._scanning = False
        first = not self.loaded
        self._fingerprint = stamp
        if runbooks is not None:
            self._loaded(runbooks, announce=first)
        if self._scan_again:
            self._scan_again = False
            self.rescan(force=True)

    def _loaded(self, runbooks: RunbookSet, *, announce: bool = True) -> None:
        contents = (
            [(loaded.path, loaded.source) for loaded in runbooks.runbooks],
            [str(problem) for problem in runbooks.problems],
        )
        if self.loaded and contents == self._contents:
            return  # touched but not changed: leave the table (and the cursor) alone
        self._contents = contents
        self._set = runbooks
        before = (len(self.runbooks), len(self.problems))
        self.runbooks = runbooks.runbooks
        self.problems = [_problem_line(p) for p in runbooks.problems]
        self.broken = runbooks.broken()
        self.loaded = True
        self._show_title()
        problems_line = self.query_one("#picker-problems", Static)
        problems_line.display = bool(self.problems)
        if self.problems:
            text = Text(
                f"⚠ {len(self.problems)} runbook problem(s); invalid runbooks skipped, marked ✗: ",
                style="bold",
            )
            text.append(self.problems[0])
            problems_line.update(text)
        if announce and self.problems:
            self.notify(
                f"{len(self.problems)} runbook problem(s); invalid runbooks are marked ✗",
                title="Runbooks",
                severity="warning",
                timeout=8,
            )
        elif not announce and before != (len(self.runbooks), len(self.problems)):
            broken = f", {len(self.broken)} with problems" if self.broken else ""
            self.notify(f"Runbooks reloaded: {len(self.runbooks)}{broken}", title="Runbooks")
        self.populate(keep_cursor=not announce)

    def _show_title(self) -> None:
        workspace = self.app.workspace  # type: ignore[attr-defined]
        env = workspace.env_info
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(" sre-tui ", style="bold reverse")
        count = f"{len(self.runbooks)} runbooks" if self.loaded else "loading runbooks…"
        title.append(f" {count} · by {self.sort} ")
        if env.production:
            title.append(" ▲ PRODUCTION ▲ ", style="bold reverse red")
            title.append(" ")
        title.append(f"env {env.name} ctx {env.context or '—'} ns {env.namespace or '—'}")
        self.query_one("#picker-title", Static).update(title)
        self.set_class(env.production, "-production")

    def populate(self, keep_cursor: bool = False) -> None:
        words = self.query_one(Input).value.casefold().split()
        shown = [r for r in self.runbooks if _matches(r, words)]
        if self.sort == "severity":
            shown.sort(key=lambda r: (r.runbook.severity.rank, r.runbook.title.casefold()))
        elif self.sort == "title":
            shown.sort(key=lambda r: r.runbook.title.casefold())
        table = self.query_one(DataTable)
        selected = self._selected_key() if keep_cursor else None
        # Broken files last, whatever the order: they cannot start an incident.
        self.shown = [*shown, *(b for b in self.broken if _broken_matches(b, words))]
        table.clear()
        for item in self.shown:
            if isinstance(item, BrokenFile):
                name = Path(item.file).name
                table.add_row(
                    Text(""),
                    Text(f"✗ {name} — {_count(len(item.problems))}", style="bold red"),
                    Text(""),
                    Text("lint", style="dim"),
                    key=f"broken:{item.file}",
                )
                continue
            runbook = item.runbook
            table.add_row(
                Text(runbook.severity.value, style=f"bold {severity_style(runbook.severity)}"),
                Text(runbook.title),
                Text(str(len(runbook.steps())), justify="right"),
                Text(runbook.id, style="dim"),
                key=runbook.id,
            )
        keys = [self._key(item) for item in self.shown]
        if selected in keys:  # a rescan keeps the cursor on the same runbook
            table.move_cursor(row=keys.index(selected), animate=False)

    @staticmethod
    def _key(item: Loaded | BrokenFile) -> str:
        return f"broken:{item.file}" if isinstance(item, BrokenFile) else item.runbook.id

    def _selected_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.shown or not 0 <= table.cursor_row < len(self.shown):
            return None
        return self._key(self.shown[table.cursor_row])

    def on_input_changed(self, event: Input.Changed) -> None:
        self.populate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._start_selected()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._start_selected()

    def _start_selected(self) -> None:
        table = self.query_one(DataTable)
        if not self.loaded:
            self.notify("Still reading runbooks…")
            return
        if not self.shown:
            self.notify(
                "No runbook matches; ctrl+n starts an incident without one", severity="warning"
            )
            return
        item = self.shown[table.cursor_row]
        if isinstance(item, BrokenFile):
            self.show_problems(item)
            return
        self.app.start_incident(item)  # type: ignore[attr-defined]

    def show_problems(self, broken: BrokenFile) -> None:
        """The lint messages of a file that did not load."""
        title = f"✗ {Path(broken.file).name} — {_count(len(broken.problems))}"
        text = "\n".join(str(problem) for problem in broken.problems)
        self.app.push_screen(TextView(title, text))

    def on_screen_resume(self) -> None:
        if self.loaded:  # back from an incident or a dialog: look for new runbooks
            self.rescan()

    def action_reload(self) -> None:
        self.rescan(force=True)
        self.notify("Reloading runbooks…", timeout=2)

    def action_cursor(self, delta: int) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + delta)))

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._show_title()
        self.populate()

    def action_new_incident(self) -> None:
        def chosen(result: tuple[str, Severity] | None) -> None:
            if result:
                title, severity = result
                self.app.start_incident(None, title=title, severity=severity)  # type: ignore[attr-defined]

        self.app.push_screen(NewIncidentDialog(), chosen)

    def action_alerts(self) -> None:
        self.app.show_alerts()  # type: ignore[attr-defined]

    def action_resume(self) -> None:
        self.app.choose_incident()  # type: ignore[attr-defined]

    def palette_commands(self) -> Iterator[SystemCommand]:
        yield SystemCommand(
            "New incident without a runbook", "Title and severity only", self.action_new_incident
        )
        yield SystemCommand("Resume an incident", "Reopen an earlier incident", self.action_resume)
        yield SystemCommand(
            "Sort runbooks", "Cycle file / severity / title", self.action_cycle_sort
        )
        yield SystemCommand(
            "Reload runbooks", "Read the runbook directories again", self.action_reload
        )
