"""A program in a real pseudo-terminal, its output read back as it comes.

A reader thread drains the terminal all the time (an app that cannot write blocks), counts
the bytes, and can time how long after a key the output contains a given text.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:
    import pexpect
except ImportError:  # pragma: no cover - a dev dependency; `sre-tui bench` says so
    pexpect = None


class BenchError(Exception):
    """The benchmark could not run; printed as the part's error."""


def require_pexpect() -> Any:
    if pexpect is None:
        raise BenchError("the benchmark needs pexpect: pip install 'sre-tui[dev]' (or pexpect)")
    return pexpect


def bench_env(**extra: str) -> dict[str, str]:
    """This environment as a plain xterm: no Textual overrides, no fixed size, and bytecode
    cached as on a user's machine (a PYTHONDONTWRITEBYTECODE here would make every start
    compile sre_tui from source while Textual's bytecode came with its wheel)."""
    dropped = ("COLUMNS", "LINES", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL") and k not in dropped}
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


def python(*args: str) -> list[str]:
    """argv for this interpreter."""
    return [sys.executable, *args]


class Terminal:
    """`argv` running in a pty of `size` (columns, rows)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        size: tuple[int, int] = (120, 40),
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        px = require_pexpect()
        self.started = time.monotonic()
        self.child = px.spawn(
            argv[0],
            list(argv[1:]),
            env=env or bench_env(),
            cwd=str(cwd) if cwd else None,
            dimensions=(size[1], size[0]),
            timeout=60,
            echo=False,
        )
        self.pid: int = self.child.pid
        self.fd: int = self.child.child_fd
        self.bytes = 0
        self.eof = threading.Event()
        self._lock = threading.Lock()
        self._window = b""  # recent output, searched for markers
        self._marker: bytes | None = None
        self._found = threading.Event()
        self._found_at = 0.0
        self.recording: list[tuple[float, bytes]] | None = None  # set to a list to keep
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                if not ready:
                    if not self.child.isalive():
                        break
                    continue
                chunk = os.read(self.fd, 65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            now = time.monotonic()
            with self._lock:
                self.bytes += len(chunk)
                if self.recording is not None:
                    self.recording.append((now, chunk))
                if self._marker is not None and not self._found.is_set():
                    self._window = (self._window + chunk)[-(len(chunk) + 4096) :]
                    if self._marker in self._window:
                        self._found_at = now
                        self._found.set()
        self.eof.set()

    # ---- markers -----------------------------------------------------------------------

    def arm(self, marker: str | bytes) -> None:
        """Look for `marker` in output read from now on."""
        with self._lock:
            self._marker = marker.encode() if isinstance(marker, str) else marker
            self._window = b""
            self._found.clear()

    def wait(self, timeout: float) -> float | None:
        """The monotonic time the armed marker was read, or None on timeout."""
        if not self._found.wait(timeout):
            return None
        return self._found_at

    def expect(self, marker: str | bytes, timeout: float = 30.0) -> float:
        """Arm, wait, and fail loudly; returns the time it was seen."""
        self.arm(marker)
        seen = self.wait(timeout)
        if seen is None:
            raise BenchError(f"no {marker!r} on the terminal after {timeout:.0f} s")
        return seen

    def send(self, data: str | bytes) -> float:
        """Write key bytes; returns the time just before the write."""
        raw = data.encode() if isinstance(data, str) else data
        at = time.monotonic()
        os.write(self.fd, raw)
        return at

    def key_latency(
        self, key: str | bytes, marker: str | bytes, timeout: float = 5.0
    ) -> float | None:
        """Seconds from writing `key` to reading `marker` back (the frame the key caused),
        or None when no such frame came within `timeout`. The marker is armed before the
        key is sent, so only output the key could have caused is searched."""
        self.arm(marker)
        sent = self.send(key)
        seen = self.wait(timeout)
        return None if seen is None else seen - sent

    # ---- the process -------------------------------------------------------------------

    def cpu_seconds(self) -> float:
        """utime + stime of the process so far (all its threads), from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def memory_mb(self, field: str = "VmRSS") -> float:
        """A memory figure of the process from /proc/<pid>/status (VmRSS: resident now,
        VmHWM: the resident peak), in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024  # kB
        raise BenchError(f"no {field} in /proc/{self.pid}/status")

    def quit(self, keys: bytes = b"\x11", timeout: float = 10.0) -> None:
        """Ctrl+Q; if it has not exited after `timeout`, signals to this child only
        (pexpect: SIGHUP, SIGINT, then SIGKILL)."""
        with contextlib.suppress(OSError):
            if self.child.isalive():
                os.write(self.fd, keys)
        if not self.eof.wait(timeout):
            with contextlib.suppress(Exception):
                self.child.terminate(force=True)
        with contextlib.suppress(Exception):
            self.child.close(force=True)
        self._reader.join(2)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()
