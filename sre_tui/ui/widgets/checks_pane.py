"""A runbook's health endpoints; Enter probes the selected one (result on the timeline)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from sre_tui.core.runbook import Check
from sre_tui.core.sanitize import inert
from sre_tui.ui.widgets.table import Table


def target(check: Check) -> str:
    if check.url:
        return check.url
    port = f":{check.port}" if check.port else ""
    return f"svc/{check.service}{port}{check.path}"


class ChecksPane(Vertical):
    class Probed(Message):
        def __init__(self, check: Check, status: int, seconds: float, body: str) -> None:
            super().__init__()
            self.check, self.status, self.seconds, self.body = check, status, seconds, body

        @property
        def ok(self) -> bool:
            return self.status == self.check.expect_status

    def __init__(self, checks: list[Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks = {check.id: check for check in checks}
        self.kube: Any = None

    def compose(self) -> ComposeResult:
        yield Static(
            Text(
                "Enter probes the selected endpoint; the result goes on the timeline", style="dim"
            ),
            id="checks-hint",
        )
        yield Table(id="checks-table", cursor_type="row")
        yield Static(id="checks-body")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in (
            ("Check", "title"),
            ("Endpoint", "target"),
            ("Result", "result"),
            ("Time", "time"),
        ):
            table.add_column(label, key=key)
        for check in self.checks.values():
            table.add_row(
                Text(check.title),
                Text(target(check), style="dim"),
                Text("not probed", style="dim"),
                Text("—"),
                key=check.id,
            )
        if not self.checks:
            self.query_one("#checks-hint", Static).update(
                Text("This runbook has no health endpoints.", style="dim")
            )

    def select(self, check_id: str) -> None:
        table = self.query_one(DataTable)
        if check_id in self.checks:
            table.move_cursor(row=table.get_row_index(check_id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        check = self.checks[str(event.row_key.value)]
        self.query_one(DataTable).update_cell(check.id, "result", Text("probing…"))
        self.run_worker(
            lambda: self._probe(check),
            thread=True,
            group=f"probe-{check.id}",
            exclusive=True,
            exit_on_error=False,
        )

    def _probe(self, check: Check) -> None:
        from sre_tui.backends.health import probe

        result = probe(check, self.kube)
        self.app.call_from_thread(self._show, check, result.status, result.seconds, result.body)

    def _show(self, check: Check, status: int, seconds: float, body: str) -> None:
        ok = status == check.expect_status
        table = self.query_one(DataTable)
        label = f"{status or 'no answer'} {'OK' if ok else f'(expected {check.expect_status})'}"
        table.update_cell(check.id, "result", Text(label, style="green" if ok else "bold red"))
        table.update_cell(check.id, "time", Text(f"{seconds * 1000:.0f} ms"))
        self.query_one("#checks-body", Static).update(Text(inert(body)[:300], style="dim"))
        self.post_message(self.Probed(check, status, seconds, inert(body)[:200]))
