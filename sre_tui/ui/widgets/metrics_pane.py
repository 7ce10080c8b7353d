"""The runbook's queries as live sparklines with threshold-coloured current values.

Polling never overlaps: a thread worker fetches every query, the UI renders, and only then
is the next poll armed. A failing query shows its own error; when Prometheus is
unreachable the last good data stays, marked stale with its age, until it recovers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Sparkline, Static

from sre_tui import applog
from sre_tui.core.metrics import Level, format_value, level
from sre_tui.core.runbook import Query
from sre_tui.core.sanitize import inert
from sre_tui.core.timefmt import short_duration, stamp

LEVEL_STYLE = {
    Level.OK: "bold green",
    Level.WARN: "bold yellow",
    Level.CRIT: "bold reverse red",
    Level.UNKNOWN: "dim",
}


@dataclass
class QueryState:
    query: Query
    points: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # unix seconds of each point
    current: float | None = None
    series: int = 0
    worst: str = ""  # the plotted series' labels (from Prometheus: inert) when several
    error: str | None = None
    good_at: float | None = None  # monotonic time of the last good data
    error_since: datetime | None = None  # when the current run of errors began


class QueryView(Vertical):
    def __init__(self, state: QueryState, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = state

    def compose(self) -> ComposeResult:
        yield Static(classes="query-head")
        yield Sparkline([], classes="query-spark")
        yield Static(classes="query-marks")

    def show(self, stale_after: float, markers: list[tuple[float, str]] | None = None) -> None:
        state, query = self.state, self.state.query
        head = Text(no_wrap=True, overflow="ellipsis")
        lvl = level(state.current, query)
        head.append(f" {format_value(state.current, query.unit)} ", style=LEVEL_STYLE[lvl])
        head.append(f" {query.title}")
        limits = [
            f"{name} {value:g}"
            for name, value in (("warn", query.warn), ("crit", query.crit))
            if value is not None
        ]
        if limits:
            head.append(f"  ({', '.join(limits)})", style="dim")
        if state.series > 1:
            which = "min" if query.direction == "below" else "max"
            head.append(f"  {which} of {state.series} series", style="dim")
            if state.worst:
                head.append(f": {state.worst}", style="dim")
        age = time.monotonic() - state.good_at if state.good_at else None
        if state.error:
            head.append("\n")
            head.append(f" {state.error}", style="bold red")
            # On a line of its own: the error can be as wide as the pane.
            head.append("\n")
            if state.error_since is not None:
                head.append(f" failing since {stamp(state.error_since)}", style="bold red")
            if age is not None:
                head.append(f" · stale: last good data {short_duration(age)} ago", style="yellow")
        elif age is not None and age > stale_after:
            head.append(f"  stale {short_duration(age)}", style="yellow")
        self.query_one(".query-head", Static).update(head)
        self.set_class(lvl is Level.CRIT, "-crit")
        self.set_class(state.error is not None, "-error")
        spark = self.query_one(Sparkline)
        spark.display = bool(state.points)  # no data: no flat bar pretending to be zero
        spark.data = state.points
        self._show_marks(markers or [])

    def _show_marks(self, markers: list[tuple[float, str]]) -> None:
        """▲ under the chart where an action was applied, so its effect can be seen."""
        times = self.state.times
        marks = self.query_one(".query-marks", Static)
        inside = [(t, label) for t, label in markers if times and times[0] <= t <= times[-1]]
        marks.display = bool(inside) and bool(self.state.points)
        if not marks.display:
            return
        width = max(1, self.size.width or 40)
        span = (times[-1] - times[0]) or 1.0
        row = [" "] * width
        for t, _ in inside:
            row[min(width - 1, int((t - times[0]) / span * (width - 1)))] = "▲"
        text = Text("".join(row).rstrip(), style="bold magenta", no_wrap=True)
        labels = "  ".join(label for _, label in inside[-3:])
        text.append(f"\n{labels}", style="magenta")
        marks.update(text)


class MetricsPane(VerticalScroll):
    class Updated(Message):
        """New data arrived (steps that verify on a query re-read it)."""

    def __init__(self, queries: list[Query], *, interval: float = 15.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.states = {q.id: QueryState(q) for q in queries}
        self.interval = interval
        self.backend: Any = None
        self.unavailable: str | None = None
        self.markers: list[tuple[float, str]] = []  # (unix seconds, label) of applied actions

    def compose(self) -> ComposeResult:
        yield Static(id="metrics-status")
        for query_id, state in self.states.items():
            yield QueryView(state, id=f"query-{query_id}", classes="query")

    def on_mount(self) -> None:
        self.show()

    def start(self, backend: Any | None, unavailable: str | None = None) -> None:
        """Begin polling `backend`; without one, say why there are no metrics."""
        self.backend, self.unavailable = backend, unavailable
        self.show()
        if backend is not None and self.states:
            self.poll()

    def poll(self) -> None:
        self.run_worker(
            self._fetch, thread=True, group="metrics", exclusive=True, exit_on_error=False
        )

    def _fetch(self) -> None:
        from sre_tui.backends.prometheus import PrometheusError

        try:
            for state in self.states.values():
                try:
                    series = self.backend.range_query(state.query.promql, state.query.range)
                except PrometheusError as exc:
                    self._failed(state, str(exc))
                    continue
                except Exception as exc:  # a malformed answer must not end the polling
                    self._failed(state, f"unexpected answer from Prometheus: {exc!r}")
                    continue
                self._update(state, series)
                applog.report("prometheus", None, key=state.query.id)
        finally:
            # Whatever happened, the next poll is armed, or the pane would never recover.
            self.app.call_from_thread(self._fetched)

    @staticmethod
    def _failed(state: QueryState, error: str) -> None:
        applog.report("prometheus", error, key=state.query.id)
        if state.error is None:
            state.error_since = datetime.now(UTC)
        state.error = error

    @staticmethod
    def _update(state: QueryState, series: list[Any]) -> None:
        state.error = state.error_since = None
        state.good_at = time.monotonic()
        state.series = len(series)
        if not series or not any(s.points for s in series):
            state.points, state.current, state.worst = [], None, ""
            return
        # Several series (e.g. per pod): plot and judge the worst one.
        worst = max(series, key=lambda s: s.points[-1][1] if s.points else float("-inf"))
        if state.query.direction == "below":
            worst = min(series, key=lambda s: s.points[-1][1] if s.points else float("inf"))
        state.worst = " ".join(
            f"{inert(k)}={inert(v)}" for k, v in sorted(worst.labels.items()) if k != "__name__"
        )
        state.points = [value for _, value in worst.points]
        state.times = [t for t, _ in worst.points]
        state.current = worst.points[-1][1] if worst.points else None

    def _fetched(self) -> None:
        self.show()
        self.post_message(self.Updated())
        self.set_timer(self.interval, self.poll)  # armed only after this poll finished

    def show(self) -> None:
        status = Text(no_wrap=True, overflow="ellipsis")
        if self.unavailable:
            status.append(self.unavailable, style="bold yellow")
        elif not self.states:
            status.append("This runbook has no queries.", style="dim")
        else:
            status.append(f"every {self.interval:g}s", style="dim")
        self.query_one("#metrics-status", Static).update(status)
        for view in self.query(QueryView):
            view.show(stale_after=self.interval * 3, markers=self.markers)

    def set_markers(self, markers: list[tuple[float, str]]) -> None:
        if markers != self.markers:
            self.markers = markers
            self.show()

    def current(self, query_id: str) -> float | None:
        state = self.states.get(query_id)
        return state.current if state else None

    def focus_query(self, query_id: str) -> None:
        for view in self.query(QueryView):
            view.set_class(view.state.query.id == query_id, "-focused")
            if view.state.query.id == query_id:
                self.scroll_to_widget(view, animate=False)
