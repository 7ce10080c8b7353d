"""Shell commands from runbooks, run against the incident's environment and nothing else.

The command text was rendered with shell-quoted variables when the runbook was loaded, so
it runs exactly as shown (`/bin/sh -c`), never templated again. kubectl must not follow
its own current context: KUBECONFIG points at the environment's kubeconfig and a private
`kubectl` wrapper, first on PATH, execs the real kubectl with `--kubeconfig` and
`--context` before the user's arguments.

Output (stdout and stderr merged) is streamed line by line and kept, bounded, as the
outcome's response; all of it is made inert. A command that outlives its timeout, or is
cancelled, is killed with its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sre_tui.core.actions import Access, ActionError, DryRun, Outcome, Plan
from sre_tui.core.incident import EnvInfo
from sre_tui.core.runbook import CommandAction
from sre_tui.core.sanitize import inert

SHELL = "/bin/sh"
MAX_LINES = 200
MAX_BYTES = 64 * 1024
READ_CHUNK = 8192  # a longer line is kept in pieces of this size
TERM_GRACE = 1.0  # seconds between SIGTERM and SIGKILL
PIPE_GRACE = 0.5  # how long background children may hold the output open after the shell
NOT_UNDOABLE = "a command cannot be undone"


class CommandPerformer:
    """Performer for `CommandAction`s (and step commands turned into them)."""

    def __init__(
        self,
        env: EnvInfo,
        kubeconfig: str | None,
        context: str | None,
        *,
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        self.env = env
        self.kubeconfig = os.path.expanduser(kubeconfig) if kubeconfig else None
        self.context = context or env.context
        self.on_output = on_output
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen[bytes]] = {}
        self._cancelled: set[int] = set()

    # Performer protocol

    def prepare(self, action: CommandAction, value: str | None = None) -> Plan:
        if action.kind != "command":
            raise ActionError(f"not a command action: {action.kind}")
        command = action.command
        if not command.strip():
            raise ActionError(f"{action.title}: the command is empty")
        namespace = action.namespace or self.env.namespace
        where = f"{self.context or '(kubectl current context)'}/{namespace or '-'}"
        return Plan(
            action_id=action.id,
            kind="command",
            title=action.title,
            environment=self.env.name,
            context=self.context,
            namespace=namespace,
            production=self.env.production,
            target=where,
            confirm_name=self.env.name,
            subject="command",
            before=None,
            after=command,
            dry_run=DryRun.unavailable("command"),
            access=Access(None, "a command's permissions cannot be reviewed before it runs"),
            revertible=False,
            revert_note=NOT_UNDOABLE,
            details=(
                f"$ {command}",
                self._runs_with(),
                f"times out after {action.timeout_seconds} s",
            ),
            state={
                "timeout_seconds": action.timeout_seconds,
                "read_only": action.read_only,
                "kubeconfig": self.kubeconfig,
                "context": self.context,
            },
        )

    def apply(self, plan: Plan) -> Outcome:
        if plan.kind != "command" or not plan.after:
            raise ActionError("not a command plan")
        timeout = float(plan.state.get("timeout_seconds", 60))
        kubeconfig = plan.state.get("kubeconfig", self.kubeconfig)
        context = plan.state.get("context", self.context)
        env = dict(os.environ)
        wrapper_dir: Path | None = None
        real_kubectl = shutil.which("kubectl", path=env.get("PATH"))
        if kubeconfig:
            env["KUBECONFIG"] = kubeconfig
        if (kubeconfig or context) and real_kubectl:
            wrapper_dir = _write_wrapper(real_kubectl, kubeconfig, context)
            env["PATH"] = os.pathsep.join(filter(None, (str(wrapper_dir), env.get("PATH"))))
        try:
            return self._run(plan.after, env, timeout)
        finally:
            if wrapper_dir is not None:
                shutil.rmtree(wrapper_dir, ignore_errors=True)

    def prepare_revert(self, plan: Plan, outcome: Outcome) -> Plan:
        raise ActionError(NOT_UNDOABLE)

    def cancel(self) -> None:
        """Stop every command this performer is running (with their process groups)."""
        with self._lock:
            running = dict(self._running)
            self._cancelled.update(running)
        for pid in running:
            _signal_group(pid, signal.SIGTERM)
        if running:
            timer = threading.Timer(TERM_GRACE, self._kill_if_running, (list(running),))
            timer.daemon = True
            timer.start()

    def _kill_if_running(self, pids: list[int]) -> None:
        with self._lock:
            alive = [pid for pid in pids if pid in self._running]
        for pid in alive:
            _signal_group(pid, signal.SIGKILL)

    # Running

    def _runs_with(self) -> str:
        if self.kubeconfig and self.context:
            return f"runs with kubeconfig {self.kubeconfig}, context {self.context}"
        if self.context:
            return f"runs with context {self.context} (kubectl's default kubeconfig)"
        if self.kubeconfig:
            return (
                f"runs with kubeconfig {self.kubeconfig}; no context configured: "
                "kubectl uses that file's current context"
            )
        return (
            f"no kubeconfig or context configured for environment {self.env.name}: "
            "kubectl uses its own current context"
        )

    def _run(self, command: str, env: dict[str, str], timeout: float) -> Outcome:
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                [SHELL, "-c", command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: killed as a whole
            )
        except OSError as exc:
            return Outcome(False, f"could not start {SHELL}: {exc.strerror or exc}")
        with self._lock:
            self._running[proc.pid] = proc
        kept = _Kept()
        assert proc.stdout is not None
        reader = threading.Thread(
            target=self._pump, args=(proc.stdout, kept), name="command-output", daemon=True
        )
        reader.start()
        timed_out = False
        try:
            try:
                status = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                status = _stop(proc)
            reader.join(PIPE_GRACE)
            if reader.is_alive():  # background children still hold the output open
                _signal_group(proc.pid, signal.SIGKILL)
                reader.join(PIPE_GRACE)
            else:
                _signal_group(proc.pid, signal.SIGKILL)  # leftovers that closed their output
        finally:
            with self._lock:
                self._running.pop(proc.pid, None)
                cancelled = proc.pid in self._cancelled
                self._cancelled.discard(proc.pid)
            # A process that left the group (setsid) may still hold the output open: the
            # reader keeps draining it, but nothing more is kept or shown. The reader
            # closes the pipe itself; closing it here would wait for that process.
            response = kept.close()
        elapsed = time.monotonic() - started
        if timed_out:
            message = f"timed out after {timeout:g} s"
        elif cancelled:
            message = f"cancelled after {elapsed:.1f} s"
        elif status < 0:
            message = f"killed by {_signal_name(-status)} after {elapsed:.1f} s"
        else:
            message = f"exit {status} in {elapsed:.1f} s"
        ok = status == 0 and not timed_out and not cancelled
        return Outcome(ok, message, response=response)

    def _pump(self, stream: IO[bytes], kept: _Kept) -> None:
        partial = b""
        try:
            while chunk := stream.readline(READ_CHUNK):
                if not chunk.endswith(b"\n") and len(chunk) < READ_CHUNK:
                    partial += chunk  # no newline before EOF: the last line
                    continue
                self._line(partial + chunk, kept)
                partial = b""
            if partial:
                self._line(partial, kept)
        except (OSError, ValueError):
            pass  # the pipe broke: the command is over
        finally:
            stream.close()

    def _line(self, raw: bytes, kept: _Kept) -> None:
        line = inert(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
        if kept.add(line) and self.on_output is not None:
            try:
                self.on_output(line)
            except Exception:  # a failing viewer must not stall the command's output
                self.on_output = None


class _Kept:
    """The last lines of output, bounded by count and size. Written by the reader thread,
    read by the thread that ran the command."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque()
        self.size = 0
        self.dropped = 0
        self.closed = False  # the command has finished: late output is ignored
        self._lock = threading.Lock()

    def add(self, line: str) -> bool:
        """Keep `line`; False once the command has finished (the line is dropped)."""
        with self._lock:
            if self.closed:
                return False
            self.lines.append(line)
            self.size += len(line) + 1
            while len(self.lines) > MAX_LINES or (self.size > MAX_BYTES and len(self.lines) > 1):
                self.size -= len(self.lines.popleft()) + 1
                self.dropped += 1
            return True

    def close(self) -> str:
        """Stop keeping lines and return what was kept."""
        with self._lock:
            self.closed = True
            lines = list(self.lines)
        if lines and len(lines[-1]) > MAX_BYTES:
            lines[-1] = lines[-1][-MAX_BYTES:]
        if self.dropped:
            lines.insert(0, f"(… {self.dropped} earlier line(s) not kept)")
        return "\n".join(lines)


def _write_wrapper(real: str, kubeconfig: str | None, context: str | None) -> Path:
    """A private directory holding `kubectl` that forces the environment's config."""
    directory = Path(tempfile.mkdtemp(prefix="sre-tui-kubectl-"))  # mode 0700
    forced = [real]
    if kubeconfig:
        forced.append(f"--kubeconfig={kubeconfig}")
    if context:
        forced.append(f"--context={context}")
    script = directory / "kubectl"
    fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\n")
        handle.write("# sre-tui: kubectl pinned to the incident's environment\n")
        handle.write(f'exec {shlex.join(forced)} "$@"\n')
    return directory


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM the process group, SIGKILL it if still there after a grace period."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout=TERM_GRACE)
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        return proc.wait()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
