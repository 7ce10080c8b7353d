"""The target's pods, from a watch (never polling), updated in place.

A thread worker lists, then watches from the list's resourceVersion; on `410 Gone` or a
dropped connection it re-lists and watches again by itself. Events go to a queue that a
timer applies to the table in one `batch_update` (rows updated by difference).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from sre_tui import applog
from sre_tui.core.pods import PodRow, pod_row, summary
from sre_tui.core.sanitize import inert
from sre_tui.core.timefmt import short_duration, stamp
from sre_tui.ui.widgets.table import Table

STATUS_STYLE = {
    "Running": "green",
    "Succeeded": "dim",
    "Completed": "dim",
    "Pending": "yellow",
    "ContainerCreating": "yellow",
    "Terminating": "dim yellow",
}
APPLY_SECONDS = 0.1


class PodsPane(Vertical):
    class PodsChanged(Message):
        """The set of pod names changed (the logs pane follows it)."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    class PodSelected(Message):
        def __init__(self, name: str | None) -> None:
            super().__init__()
            self.name = name

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: dict[str, PodRow] = {}
        self.queue: deque[tuple[str, Any]] = deque()
        self.backend: Any = None
        self.selector: str | None = None
        self.state = "not started"
        self.last_event: float | None = None
        self.failing_since: datetime | None = None  # when the API started failing
        self._events_for: str | None = None
        self._lock = threading.Lock()
        self._status: Text | None = None
        self._ages: dict[str, str] = {}  # the age text each row shows
        self.rollout = ""  # a followed rollout's progress, shown after the summary

    def compose(self) -> ComposeResult:
        yield Static(id="pods-status")
        table = Table(id="pods-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="pod-events")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in (
            ("Pod", "name"),
            ("Status", "status"),
            ("Ready", "ready"),
            ("Restarts", "restarts"),
            ("Age", "age"),
            ("Node", "node"),
        ):
            table.add_column(label, key=key)
        self.set_interval(APPLY_SECONDS, self.apply_queue)
        self.set_interval(5, self.refresh_ages)
        # (Through the table: this class's own `watch` is the pods watch.)
        table.watch(table, "scroll_y", self.refresh_ages, init=False)
        self.show_status()

    # ---- the watch -------------------------------------------------------------------

    def watch(self, backend: Any, selector: str | None) -> None:
        self.backend, self.selector = backend, selector
        self.workers.cancel_group(self, "pods-watch")
        self.run_worker(self._watch, thread=True, group="pods-watch", exit_on_error=False)

    def _watch(self) -> None:
        from sre_tui.backends.kube import KubeError, WatchExpired

        worker = get_current_worker()
        delay = 1.0
        while not worker.is_cancelled:
            try:
                items, version = self.backend.list_pods(self.selector)
                self.queue.append(("snapshot", items))
                self.queue.append(("state", "watching"))
                applog.report("kubernetes", None, key="pods")
                delay = 1.0
                while not worker.is_cancelled:
                    for kind, obj in self.backend.watch_pods(self.selector, version):
                        if worker.is_cancelled:
                            return
                        version = obj.get("metadata", {}).get("resourceVersion") or version
                        if kind != "BOOKMARK":
                            self.queue.append((kind, obj))
            except WatchExpired:
                self.queue.append(("state", "watch expired (410); re-listing"))
                continue
            except KubeError as exc:
                self.queue.append(("state", f"error: {exc}; retrying in {delay:.0f}s"))
                applog.report("kubernetes", str(exc), key="pods")
            except Exception as exc:  # a client bug must not end the watch for good
                name = exc.__class__.__name__
                self.queue.append(("state", f"error: {name} {exc}; retrying in {delay:.0f}s"))
                applog.report("kubernetes", f"{name} {exc}", key="pods")
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and not worker.is_cancelled:
                time.sleep(0.1)
            delay = min(delay * 2, 30.0)

    def apply_queue(self) -> None:
        if not self.queue:
            return
        table = self.query_one(DataTable)
        before = set(self.rows)
        now = datetime.now(UTC)
        with self.app.batch_update():
            while self.queue:
                kind, payload = self.queue.popleft()
                if kind == "state":
                    self.state = payload
                    if payload == "watching":
                        self.failing_since = None
                    elif payload.startswith("error") and self.failing_since is None:
                        self.failing_since = now
                    continue
                if kind == "snapshot":
                    fresh = {row.name: row for row in map(pod_row, payload)}
                    for name in set(self.rows) - set(fresh):
                        table.remove_row(name)
                        del self.rows[name]
                        self._ages.pop(name, None)
                    for row in fresh.values():
                        self._upsert(table, row, now)
                    continue
                self.last_event = time.monotonic()
                row = pod_row(payload)
                if kind == "DELETED":
                    if row.name in self.rows:
                        table.remove_row(row.name)
                        del self.rows[row.name]
                        self._ages.pop(row.name, None)
                else:
                    self._upsert(table, row, now)
        if set(self.rows) != before:
            self.post_message(self.PodsChanged(sorted(self.rows)))
            if self._events_for is not None and self._events_for not in self.rows:
                # The pod whose events were shown is gone: do not show them as current.
                self._events_for = None
                self.query_one("#pod-events", Static).update("")
        self.show_status()

    def _cells(self, row: PodRow, now: datetime) -> list[Text]:
        return [
            Text(row.name),
            Text(row.status, style=STATUS_STYLE.get(row.status, "bold red")),
            Text(row.ready, style="" if row.all_ready else "yellow"),
            Text(str(row.restarts), style="bold red" if row.restarts else ""),
            Text(short_duration(row.age(now))),
            Text(row.node, style="dim"),
        ]

    def _upsert(self, table: DataTable, row: PodRow, now: datetime) -> None:
        cells = self._cells(row, now)
        keys = ("name", "status", "ready", "restarts", "age", "node")
        if row.name in self.rows:
            old = self._cells(self.rows[row.name], now)
            for key, new_cell, old_cell in zip(keys, cells, old, strict=True):
                if new_cell.plain != old_cell.plain or new_cell.style != old_cell.style:
                    table.update_cell(row.name, key, new_cell)
                    if key == "age":
                        self._ages[row.name] = new_cell.plain
        else:
            table.add_row(*cells, key=row.name)
            self._ages[row.name] = cells[4].plain
        self.rows[row.name] = row

    def refresh_ages(self) -> None:
        """The ages of the rows in view, where their text changed. Every cell update makes
        the table re-index all its rows, so updating thousands of ages every 5 s stalled
        it; rows scrolled into view get their age at once (see on_mount)."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        top = max(0, table.scroll_offset.y - 1)  # rows are one line high
        bottom = min(table.row_count, top + table.scrollable_content_region.height + 2)
        now = datetime.now(UTC)
        with self.app.batch_update():
            for index in range(top, bottom):
                name = str(table.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value)
                row = self.rows.get(name)
                if row is None:
                    continue
                age = short_duration(row.age(now))
                if self._ages.get(name) != age:
                    self._ages[name] = age
                    table.update_cell(name, "age", Text(age))

    def show_status(self) -> None:
        status = Text(no_wrap=True, overflow="ellipsis")
        style = "green" if self.state == "watching" else "bold yellow"
        if self.failing_since is not None:
            # What is wrong and since when first: the line is cut at the pane's width.
            status.append(f" API failing since {stamp(self.failing_since)} ", style="reverse red")
            status.append(f" {self.state} ·", style="bold yellow")
        else:
            status.append(f" {self.state} ", style=f"reverse {style}")
        status.append(f" {self.selector or 'all pods'} · {summary(list(self.rows.values()))}")
        if self.rollout:
            stuck = "fail" in self.rollout.lower() or "backoff" in self.rollout.lower()
            status.append(f" · {self.rollout}", style="bold red" if stuck else "bold cyan")
        # One line whatever it says (no_wrap): a change needs a repaint, not a layout.
        if status != self._status:
            self._status = status
            self.query_one("#pods-status", Static).update(status, layout=False)

    # ---- selection and events --------------------------------------------------------

    @property
    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        name = str(event.row_key.value) if event.row_key else None
        self.post_message(self.PodSelected(name))
        if name and name != self._events_for and self.backend is not None:
            self._events_for = name
            self.run_worker(
                lambda: self._load_events(name),
                thread=True,
                group="pod-events",
                exclusive=True,
                exit_on_error=False,
            )

    def _load_events(self, name: str) -> None:
        from sre_tui.backends.kube import KubeError

        try:
            events = self.backend.pod_events(name, limit=5)
        except KubeError as exc:
            text = Text(f"events: {exc}", style="yellow")
        else:
            text = Text(no_wrap=True, overflow="ellipsis")
            if not events:
                text.append("no recent events", style="dim")
            # Newest first: when the area is short, what is cut is the oldest.
            for index, event in enumerate(reversed(events)):
                if index:
                    text.append("\n")
                kind = event.get("type", "")
                text.append(
                    f"{inert(str(event.get('reason', '')))} ",
                    style="bold yellow" if kind == "Warning" else "bold",
                )
                text.append(inert(str(event.get("message", ""))))
        self.app.call_from_thread(self._show_details, name, text)

    def _show_details(self, name: str, events: Text) -> None:
        """The selected pod's labels and annotations (cut: an annotation can hold a whole
        manifest), then its latest events."""
        if name != self._events_for:
            return  # another pod was selected meanwhile
        row = self.rows.get(name)
        text = Text(no_wrap=True, overflow="ellipsis")
        for title, pairs in (
            ("labels", row.labels if row else ()),
            ("annotations", row.annotations if row else ()),
        ):
            if pairs:
                text.append(f"{title} ", style="dim")
                text.append(" ".join(f"{k}={_cut(v)}" for k, v in pairs))
                text.append("\n")
        text.append_text(events)
        self.query_one("#pod-events", Static).update(text)

    def summary(self) -> str:
        return summary(list(self.rows.values()))


def _cut(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
