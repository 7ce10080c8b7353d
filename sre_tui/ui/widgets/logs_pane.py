"""Pod logs, stern-style: one stream per pod, merged by time, bounded, inert.

Each pod's stream runs in a thread worker and appends parsed lines to a shared deque; a
timer drains it into the buffer and the `Log` widget at 20 Hz in one call, so a firehose
costs one refresh per frame, not one message per line. Lines are made inert
(core.sanitize) before they are stored, and `Log` renders plain text, never markup.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.highlighter import Highlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Log, Static
from textual.worker import Worker, get_current_worker

from sre_tui import applog
from sre_tui.core.logbuffer import LogBuffer, LogLine, ResumePoint, parse_line
from sre_tui.core.timefmt import stamp

# k9s-style quick ranges: key → (label, tail lines, since seconds)
RANGES: dict[str, tuple[str, int | None, int | None]] = {
    "0": ("tail 200", 200, None),
    "1": ("1m", None, 60),
    "2": ("5m", None, 300),
    "3": ("15m", None, 900),
    "4": ("1h", None, 3600),
}
DRAIN_SECONDS = 0.05
PENDING_MAX = 50_000


class PatternHighlighter(Highlighter):
    def __init__(self) -> None:
        self.patterns: list[re.Pattern[str]] = []
        self.filter: re.Pattern[str] | None = None

    def highlight(self, text: Text) -> None:
        plain = text.plain
        for pattern in self.patterns:
            for match in pattern.finditer(plain):
                text.stylize("bold yellow", match.start(), match.end())
        if self.filter is not None:
            for match in self.filter.finditer(plain):
                text.stylize("reverse", match.start(), match.end())
        # The pod prefix, up to the first separator.
        if (cut := plain.find(" │ ")) > 0:
            text.stylize("cyan", 0, cut)


def marker(pod: str, message: str) -> LogLine:
    return LogLine(datetime.now(UTC), pod, f"── {message} ──", marker=True)


class LogsPane(Vertical, can_focus=False):
    BINDINGS = [
        Binding("f", "toggle_follow", "Follow/pause", id="logs-follow"),
        Binding("slash", "filter", "Filter", id="logs-filter"),
        Binding("w", "toggle_wrap", "Wrap", id="logs-wrap"),
        Binding("t", "toggle_timestamps", "Timestamps", id="logs-timestamps"),
        Binding("P", "toggle_previous", "Previous", id="logs-previous"),
        Binding("a", "toggle_all", "All pods", id="logs-all"),
        Binding("ctrl+s", "save", "Save", id="logs-save"),
        *(
            Binding(key, f"range('{key}')", label, show=False)
            for key, (label, _, _) in RANGES.items()
        ),
    ]

    def __init__(
        self, *, highlight: list[str] | None = None, max_lines: int = 10_000, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.buffer = LogBuffer(max_lines)
        self.pending: deque[LogLine] = deque()
        self.pending_dropped = 0
        self.highlighter = PatternHighlighter()
        self.highlighter.patterns = [re.compile(p) for p in highlight or []]
        self.paused = False
        self.unseen = 0
        self.wrap = False
        self.timestamps = True
        self.previous = False
        self.all_pods = True
        self.range_key = "0"
        self.backend: Any = None
        self.pods: list[str] = []
        self.selected_pod: str | None = None
        self.save_dir = Path.cwd()
        self._streams: dict[str, Worker[None]] = {}
        # Open responses, so a stream blocked reading a quiet pod can be interrupted.
        self._responses: dict[str, Any] = {}
        self._points: dict[str, ResumePoint] = {}
        self._status: Text | None = None
        self._behind = 0  # buffer lines the view lacks (added while paused)
        # Pods whose stream fails: since when, and the last error (written by the streams'
        # threads; a counter tells the drain timer the status line needs redrawing).
        self.failing: dict[str, tuple[datetime, str]] = {}
        self._failing_changes = 0
        self._failing_shown = 0

    def compose(self) -> ComposeResult:
        yield Static(id="logs-status")
        yield Input(placeholder="filter (regex); Enter applies, Esc clears", id="logs-filter-input")
        # The widget prunes its oldest lines itself, a few per drain, so it never holds
        # more than the buffer (rebuilding it whenever it grew too long cost a full
        # re-format of the buffer every few seconds under a fast stream).
        log = Log(max_lines=self.buffer.lines.maxlen, highlight=True, id="logs-view")
        log.highlighter = self.highlighter
        yield log

    def on_mount(self) -> None:
        self.query_one("#logs-filter-input").display = False
        self.set_interval(DRAIN_SECONDS, self.drain)
        self.show_status()

    # ---- streams ---------------------------------------------------------------------

    def watch_pods(self, backend: Any, pods: list[str], selected: str | None = None) -> None:
        """Follow these pods: streams start for new pods and stop for pods that left;
        streams of pods still there keep running (no line is shown twice)."""
        self.backend, self.pods, self.selected_pod = backend, sorted(pods), selected
        self._sync_streams()

    def _targets(self) -> set[str]:
        if self.backend is None:
            return set()
        if self.all_pods or not self.selected_pod:
            return set(self.pods)
        return {self.selected_pod}

    def _set_failing(self, pod: str, error: str | None) -> None:
        applog.report("kubernetes", error, key=f"logs {pod}")
        if error is None:
            if self.failing.pop(pod, None) is None:
                return
        else:
            since = self.failing[pod][0] if pod in self.failing else datetime.now(UTC)
            self.failing[pod] = (since, error)
        self._failing_changes += 1

    def _stop(self, pod: str) -> None:
        self._set_failing(pod, None)
        self._streams.pop(pod).cancel()
        response = self._responses.pop(pod, None)
        if response is not None:
            # Wake the thread out of its blocking read, or it waits out the idle timeout
            # (and quitting the app waits with it).
            with contextlib.suppress(Exception):
                getattr(response, "shutdown", response.close)()

    def stop_streams(self) -> None:
        for pod in list(self._streams):
            self._stop(pod)

    def on_unmount(self) -> None:
        self.stop_streams()

    def _sync_streams(self) -> None:
        wanted = self._targets()
        for pod in list(self._streams):
            if pod not in wanted:
                self._stop(pod)
                if pod not in self.pods:
                    self._push(marker(pod, "pod gone"))
        # A gone pod's resume point is never read again: under churn (a new name per
        # replacement) keeping them all would grow without end. (list() copies the keys
        # in one step: stream threads add points concurrently.)
        present = set(self.pods)
        for pod in list(self._points):
            if pod not in present:
                self._points.pop(pod, None)
        for pod in sorted(wanted - set(self._streams)):
            self._streams[pod] = self.run_worker(
                lambda pod=pod: self._stream(pod),
                thread=True,
                group="log-streams",
                exit_on_error=False,
            )
        self.show_status()

    def restart_streams(self) -> None:
        """Everything anew (a different range, or previous containers)."""
        self.stop_streams()
        self._points.clear()
        self._sync_streams()

    def _push(self, line: LogLine) -> None:
        if len(self.pending) >= PENDING_MAX:
            self.pending_dropped += 1
            return
        self.pending.append(line)

    def _stream(self, pod: str) -> None:
        """One pod's stream; reconnects by itself without repeating lines."""
        from sre_tui.backends.kube import KubeError

        worker = get_current_worker()
        point = self._points.setdefault(pod, ResumePoint())
        _, tail, since = RANGES[self.range_key]
        delay = 1.0
        while not worker.is_cancelled:
            resumed = point.last_ts is not None
            kwargs: dict[str, Any] = {"previous": self.previous, "follow": not self.previous}
            if resumed:
                back = (datetime.now(UTC) - point.last_ts).total_seconds() + 1  # type: ignore[operator]
                kwargs["since_seconds"] = int(back) + 1
            elif tail is not None:
                kwargs["tail_lines"] = tail
            else:
                kwargs["since_seconds"] = since

            def opened(response: Any, pod: str = pod) -> None:
                self._responses[pod] = response
                self._set_failing(pod, None)  # the API answers again

            try:
                for raw in self.backend.stream_log(pod, opened=opened, **kwargs):
                    if worker.is_cancelled:
                        return
                    line = parse_line(raw, pod)
                    if point.fresh(line):
                        self._push(line)
                    delay = 1.0
                if self.previous:
                    return
                self._push(
                    marker(pod, "stream ended (container restarted or pod stopping); resuming")
                )
            except KubeError as exc:
                if worker.is_cancelled:
                    return  # we closed it ourselves
                if exc.status in (400, 404):
                    self._push(marker(pod, f"no logs: {exc}"))
                    return
                self._set_failing(pod, str(exc))
                self._push(marker(pod, f"stream lost: {exc}; retrying in {delay:.0f}s"))
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline:
                if worker.is_cancelled:
                    return
                time.sleep(0.1)
            delay = min(delay * 2, 15.0)

    # ---- rendering -------------------------------------------------------------------

    def _format(self, line: LogLine, width: int) -> list[str]:
        prefix = f"{line.pod[-24:]} │ " if len(self.pods) > 1 or line.marker else ""
        ts = line.ts
        # HH:MM:SS.mmm; field by field, as strftime costs several times more per line.
        stamp = (
            f"{ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}.{ts.microsecond // 1000:03d} "
            if self.timestamps and ts
            else ""
        )
        text = f"{prefix}{stamp}{line.text}"
        if not self.wrap or width <= 10 or len(text) <= width:
            return [text]
        return [text[i : i + width] for i in range(0, len(text), width)]

    def _visible(self, line: LogLine) -> bool:
        pattern = self.highlighter.filter
        return line.marker or pattern is None or bool(pattern.search(line.text))

    def drain(self) -> None:
        if self._failing_changes != self._failing_shown:
            self.show_status()
        if not self.pending:
            return
        batch: list[LogLine] = []
        while self.pending and len(batch) < 20_000:
            batch.append(self.pending.popleft())
        added = self.buffer.extend(batch)
        if self.paused:
            self.unseen += len(added)
            self._behind += len(added)
            self.show_status()
            return
        self._write([line for line in added if self._visible(line)])
        self.show_status()

    def _write(self, lines: list[LogLine]) -> None:
        log = self.query_one(Log)
        width = max(10, log.size.width - 2)
        out: list[str] = []
        for line in lines:
            out.extend(self._format(line, width))
        if out:
            log.write_lines(out)

    def rebuild(self) -> None:
        log = self.query_one(Log)
        log.clear()
        self._behind = 0
        self._write([line for line in self.buffer.lines if self._visible(line)])

    def show_status(self) -> None:
        status = Text(no_wrap=True, overflow="ellipsis")
        self._failing_shown = self._failing_changes
        if failing := dict(self.failing):
            # First, as the line is cut at the pane's width: what fails, since when.
            since, error = min(failing.values())
            count = f"{len(failing)} streams" if len(failing) > 1 else "stream"
            status.append(f" {count} failing since {stamp(since)} ", style="bold reverse red")
            status.append(f" {error} ·", style="bold red")
        if self.paused:
            status.append(" PAUSED ", style="bold reverse yellow")
            status.append(f" {self.unseen} new ")
        else:
            status.append(" FOLLOW ", style="bold reverse green")
        target = "all pods" if self.all_pods else (self.selected_pod or "—")
        status.append(f" {target} ({len(self.pods)}) · {RANGES[self.range_key][0]}")
        if self.previous:
            status.append(" · previous", style="bold")
        if self.highlighter.filter is not None:
            status.append(f" · filter /{self.highlighter.filter.pattern}/", style="bold")
        dropped = self.buffer.dropped + self.pending_dropped
        if dropped:
            status.append(
                f" · {dropped} dropped to stay within {self.buffer.lines.maxlen}", style="bold red"
            )
        # One line whatever it says (no_wrap): a change needs a repaint, never a layout of
        # the screen; an unchanged line needs nothing.
        if status != self._status:
            self._status = status
            self.query_one("#logs-status", Static).update(status, layout=False)

    # ---- actions ---------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self.unseen = 0
            self._catch_up()
        self.show_status()

    def _catch_up(self) -> None:
        """Show what arrived while paused. The view still holds everything before the
        pause, so only the new lines are written, unless the buffer turned over."""
        held = len(self.buffer.lines)
        behind, self._behind = self._behind, 0
        if behind >= held:
            self.rebuild()
        elif behind:
            new = itertools.islice(self.buffer.lines, held - behind, None)
            self._write([line for line in new if self._visible(line)])

    def action_filter(self) -> None:
        field = self.query_one("#logs-filter-input", Input)
        field.display = True
        field.focus()

    def set_filter(self, pattern: str | None) -> None:
        if pattern:
            try:
                self.highlighter.filter = re.compile(pattern)
            except re.error as exc:
                self.notify(f"Not a valid regex: {exc}", severity="warning")
                return
        else:
            self.highlighter.filter = None
        self.rebuild()
        self.show_status()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_filter(event.value.strip() or None)
        event.input.display = bool(event.value.strip())
        self.query_one(Log).focus()

    def on_key(self, event: Any) -> None:
        field = self.query_one("#logs-filter-input", Input)
        if event.key == "escape" and field.has_focus:
            event.stop()
            field.value = ""
            field.display = False
            self.set_filter(None)
            self.query_one(Log).focus()

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self.rebuild()

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self.rebuild()

    def action_toggle_previous(self) -> None:
        self.previous = not self.previous
        self._clear_and_restart()

    def action_toggle_all(self) -> None:
        self.all_pods = not self.all_pods
        self._clear_and_restart()

    def action_range(self, key: str) -> None:
        self.range_key = key
        self._clear_and_restart()

    def _clear_and_restart(self) -> None:
        self.buffer = LogBuffer(self.buffer.lines.maxlen or 10_000)
        self.pending.clear()
        self.query_one(Log).clear()
        self._behind = 0
        self.restart_streams()

    def action_save(self) -> None:
        lines = [line for line in self.buffer.lines if self._visible(line)]
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = self.save_dir / f"sre-tui-logs-{stamp}.log"

        def write() -> None:
            with path.open("w", encoding="utf-8") as handle:
                for line in lines:
                    handle.write("\n".join(self._format(line, 0)) + "\n")
            self.app.call_from_thread(self.notify, f"Saved {len(lines)} lines to {path}")

        self.run_worker(write, thread=True, exit_on_error=False)
