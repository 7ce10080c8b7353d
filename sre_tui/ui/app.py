"""The Textual app: wires screens, global bindings and the command palette."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from sre_tui import applog
from sre_tui.core.alerts import Alert
from sre_tui.core.incident import utcnow
from sre_tui.core.severity import Severity
from sre_tui.core.timefmt import full_stamp
from sre_tui.ui.dialogs.choice import ChoiceDialog
from sre_tui.ui.dialogs.help import HelpScreen
from sre_tui.ui.screens.alerts import AlertsScreen
from sre_tui.ui.screens.incident import IncidentScreen
from sre_tui.ui.screens.picker import PickerScreen
from sre_tui.ui.widgets.logs_pane import LogsPane
from sre_tui.workspace import ActiveIncident, LiveBackends, Workspace, WorkspaceError, connect

log = logging.getLogger(__name__)
HANG_UP_EXIT_SECONDS = 10.0  # the most a hung-up app may take to leave


class SreTuiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "sre-tui"
    BINDINGS = [
        Binding("question_mark", "help", "Keys", id="help"),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    def __init__(
        self,
        workspace: Workspace,
        active: ActiveIncident | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.initial = active
        self.clock = clock
        self.live: LiveBackends | None = None
        self._live_ready = asyncio.Event()
        self.hung_up = False

    def on_mount(self) -> None:
        self.push_screen(PickerScreen())
        if self.initial is not None:
            self.open_incident(self.initial)
        self.run_worker(self._connect(), exit_on_error=False)
        self._watch_terminal()

    # ---- a lost terminal ---------------------------------------------------------------

    def _watch_terminal(self) -> None:
        """Notice a dropped SSH connection: the pty closing sends SIGHUP, whose default
        action kills the process wherever it is (mid-write included), and every read or
        write of the terminal fails afterwards. The app stops its streams and exits with
        128 + SIGHUP; every change is on disk already (the store appends each event as it
        happens), so `sre-tui resume` continues where it stopped."""
        if self.is_headless:
            return  # tests drive the app without a terminal
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.hang_up)
            self._guard_resume()

    def _guard_resume(self) -> None:
        """A hang-up sends SIGCONT right after SIGHUP, and Textual's driver answers SIGCONT
        (meant for `fg` after ctrl+z) by starting a new terminal writer at once, whatever
        the main thread was doing: the exit then waited forever on the old writer's full
        queue (one hang-up in eight here). Resume only while the terminal is alive."""
        import termios  # POSIX only, as this driver is

        resume = signal.getsignal(signal.SIGCONT)
        if not callable(resume):
            return

        def on_continue(signum: int, frame: object) -> None:
            try:
                termios.tcgetattr(sys.__stdin__.fileno())  # fails once the tty hung up
            except (termios.error, OSError, ValueError, AttributeError):
                return
            resume(signum, frame)

        signal.signal(signal.SIGCONT, on_continue)

    def hang_up(self) -> None:
        """The terminal is gone: stop everything and exit, writing nothing more to it."""
        if self.hung_up:
            return
        self.hung_up = True
        # Restoring the terminal on exit writes to it, which fails on a hung-up pty (EIO):
        # send what is left to /dev/null instead.
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_WRONLY)
            for fd in (1, 2):
                os.dup2(null, fd)
            os.close(null)
        self._stop_streams()
        self.exit(return_code=129)  # 128 + SIGHUP, like a shell
        # Every change is on disk as it happens: should the shutdown still hang on the
        # dead terminal, nothing is lost by leaving without it.
        watchdog = threading.Timer(HANG_UP_EXIT_SECONDS, os._exit, args=(129,))
        watchdog.daemon = True
        watchdog.start()

    async def _connect(self) -> None:
        """Clients for the environment's cluster, Prometheus and alerts, after the first
        frame (reading a kubeconfig and importing clients is I/O and takes time)."""
        self.live = await asyncio.to_thread(connect, self.workspace.environment)
        applog.report("kubernetes", self.live.kube_reason)
        applog.report("prometheus", self.live.prometheus_reason)
        applog.report("alerts", self.live.alerts_reason)
        self._live_ready.set()
        # Everything alive now (Textual, the clients, the runbooks) lives as long as the
        # app: keep it out of the collector's full passes, whose pauses the log firehose
        # made users feel as late keys. (Not under tests: one process runs many apps.)
        if not self.is_headless:
            gc.freeze()
        if self.live.alerts is not None and self.initial is None:
            self.show_alerts()

    async def live_backends(self) -> LiveBackends:
        await self._live_ready.wait()
        assert self.live is not None
        return self.live

    def show_alerts(self) -> None:
        if self.live is None or self.live.alerts is None:
            reason = self.live.alerts_reason if self.live else "still connecting"
            self.notify(f"No alerts: {reason}", severity="warning", markup=False)
            return
        if not isinstance(self.screen, AlertsScreen):
            interval = self.workspace.loaded.config.refresh.alerts_seconds
            self.push_screen(AlertsScreen(self.live.alerts, interval))

    def open_incident(self, active: ActiveIncident) -> None:
        while isinstance(self.screen, IncidentScreen):
            self.pop_screen()
        self.push_screen(IncidentScreen(active, self.workspace.store, self.workspace.user))

    def show_runbooks(self) -> None:
        while not isinstance(self.screen, PickerScreen) and len(self.screen_stack) > 2:
            self.pop_screen()

    def start_incident(
        self,
        loaded,
        *,
        title: str | None = None,
        severity: Severity | None = None,
        alert: Alert | None = None,
    ) -> None:
        self.run_worker(
            self._start(loaded, title, severity, alert),
            exclusive=True,
            group="start",
            exit_on_error=False,
        )

    async def _start(
        self, loaded, title: str | None, severity: Severity | None, alert: Alert | None
    ) -> None:
        try:
            # Writing the first event is disk I/O: off the event loop.
            active = await asyncio.to_thread(
                self.workspace.start,
                loaded,
                title=title,
                severity=severity,
                alert=alert,
                now=self.clock(),
            )
        except (WorkspaceError, OSError) as exc:
            self.notify(
                str(exc), title="Cannot start incident", severity="error", timeout=15, markup=False
            )
            return
        self.open_incident(active)

    def choose_incident(self) -> None:
        self.run_worker(
            self._choose_incident(), exclusive=True, group="resume", exit_on_error=False
        )

    async def _choose_incident(self) -> None:
        found, problems = await asyncio.to_thread(self.workspace.store.all)
        for problem in problems:
            self.notify(problem, severity="warning", markup=False)
        if not found:
            self.notify("No incidents to resume")
            return
        choices = [
            (
                s.incident.id,
                f"{s.incident.id}  {s.incident.state:<13} "
                f"{full_stamp(s.incident.started_at)}  {s.incident.title}",
            )
            for s in reversed(found[-50:])
        ]
        by_id = {s.incident.id: s for s in found}

        def chosen(incident_id: str | None) -> None:
            if incident_id:
                try:
                    self.open_incident(self.workspace.reopen(by_id[incident_id]))
                except WorkspaceError as exc:
                    self.notify(str(exc), severity="error", markup=False)

        self.push_screen(ChoiceDialog("Resume incident", choices), chosen)

    def action_help(self) -> None:
        rows: list[tuple[str, str]] = []
        seen: set[str] = set()
        # Our own bindings (they carry ids) first, then the widgets' generic ones.
        bindings = sorted(
            (active.binding for active in self.screen.active_bindings.values()),
            key=lambda binding: binding.id is None,
        )
        for binding in bindings:
            if not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            rows.append((self.get_key_display(binding), binding.description))
        rows.append(("ctrl+p", "Command palette"))
        self.push_screen(HelpScreen(rows, title=getattr(self.screen, "HELP_TITLE", "Keys")))

    def _handle_exception(self, error: Exception) -> None:
        # Textual's hook for an unhandled error (it ends the app and prints the traceback
        # on the terminal, which is gone once the screen is restored): keep it in the log.
        log.critical("the app stopped on an unhandled error", exc_info=error)
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        # Textual prints the crash's traceback with local variables on the terminal, where
        # a resolved credential or a pod's hostile text would land in the scrollback; the
        # traceback without locals tells as much (the log has it too).
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        self._exit_renderables.append(
            Segments(self.console.render(traceback, self.console.options))
        )
        self._close_messages_no_wait()

    async def action_quit(self) -> None:
        self._stop_streams()
        self.exit()

    def _stop_streams(self) -> None:
        # Log streams block in reads; interrupt them so quitting is immediate.
        for screen in self.screen_stack:
            for pane in screen.query(LogsPane):
                pane.stop_streams()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands = getattr(screen, "palette_commands", None)
        if commands is not None:
            yield from commands()


def create_app(
    workspace: Workspace,
    active: ActiveIncident | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> SreTuiApp:
    """The one way to build the app, used by the CLI and the tests."""
    return SreTuiApp(workspace, active, clock)
