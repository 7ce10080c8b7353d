"""The runbook list: filter by typing, sort by severity, Enter starts an incident."""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from sre_tui.core.lint import Loaded
from sre_tui.core.severity import Severity
from sre_tui.ui.dialogs.new_incident import NewIncidentDialog
from sre_tui.ui.widgets.incident_header import severity_style

SORTS = ("file", "severity", "title")


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
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runbooks: list[Loaded] = []
        self.problems: list[str] = []
        self.loaded = False
        self.sort = "severity"
        self.shown: list[Loaded] = []

    def compose(self) -> ComposeResult:
        yield Static(id="picker-title")
        yield Input(
            placeholder="Type to filter runbooks (id, title, service, alert, tag)", id="filter"
        )
        yield DataTable(id="runbooks", cursor_type="row", zebra_stripes=True)
        yield Static(id="picker-problems")
        yield Footer()

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
        self.run_worker(self._load, thread=True, exit_on_error=False)

    def _load(self) -> None:
        runbooks = self.app.workspace.runbooks  # type: ignore[attr-defined]
        self.app.call_from_thread(self._loaded, runbooks.runbooks, runbooks.problems)

    def _loaded(self, runbooks: list[Loaded], problems: list[object]) -> None:
        self.runbooks, self.problems, self.loaded = runbooks, [str(p) for p in problems], True
        self._show_title()
        if self.problems:
            problems_line = self.query_one("#picker-problems", Static)
            text = Text(
                f"⚠ {len(self.problems)} runbook problem(s); invalid runbooks skipped "
                "(run `sre-tui lint` for details): ",
                style="bold",
            )
            text.append(self.problems[0])
            problems_line.update(text)
            problems_line.display = True
            self.notify(
                f"{len(self.problems)} runbook problem(s); invalid runbooks were skipped",
                title="Runbooks",
                severity="warning",
                timeout=8,
            )
        self.populate()

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

    def populate(self) -> None:
        words = self.query_one(Input).value.casefold().split()
        shown = [r for r in self.runbooks if _matches(r, words)]
        if self.sort == "severity":
            shown.sort(key=lambda r: (r.runbook.severity.rank, r.runbook.title.casefold()))
        elif self.sort == "title":
            shown.sort(key=lambda r: r.runbook.title.casefold())
        self.shown = shown
        table = self.query_one(DataTable)
        table.clear()
        for loaded in shown:
            runbook = loaded.runbook
            table.add_row(
                Text(runbook.severity.value, style=f"bold {severity_style(runbook.severity)}"),
                Text(runbook.title),
                Text(str(len(runbook.steps())), justify="right"),
                Text(runbook.id, style="dim"),
                key=runbook.id,
            )

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
        loaded = self.shown[table.cursor_row]
        self.app.start_incident(loaded)  # type: ignore[attr-defined]

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
