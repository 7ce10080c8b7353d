"""A bounded log buffer that says what it dropped, merges pods by time, and resumes
streams without repeating lines (no I/O)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sre_tui.core.sanitize import inert

# RFC3339 with up to nanoseconds, as `kubectl logs --timestamps` / the API's timestamps=true.
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d) ")


@dataclass(frozen=True)
class LogLine:
    ts: datetime | None
    pod: str
    text: str  # already inert: no escape or control characters
    marker: bool = False  # a gap/restart marker written by us, not by the pod


def parse_line(raw: str, pod: str) -> LogLine:
    """Split the API's timestamp prefix off and make the rest inert."""
    match = _STAMP.match(raw)
    ts = None
    if match:
        fraction = (match.group(2) or "0")[:6].ljust(6, "0")
        zone = "+00:00" if match.group(3) == "Z" else match.group(3)
        try:
            ts = datetime.fromisoformat(f"{match.group(1)}.{fraction}{zone}")
        except ValueError:
            ts = None
        raw = raw[match.end() :]
    return LogLine(ts, pod, inert(raw.rstrip("\n")))


class ResumePoint:
    """Remembers where a stream got to, so a reconnect with sinceTime skips what was shown."""

    def __init__(self) -> None:
        self.last_ts: datetime | None = None
        self._at_last: set[str] = set()  # texts already shown with exactly last_ts

    def fresh(self, line: LogLine) -> bool:
        if line.ts is None or self.last_ts is None or line.ts > self.last_ts:
            if line.ts is not None:
                self.last_ts, self._at_last = line.ts, {line.text}
            return True
        if line.ts == self.last_ts and line.text not in self._at_last:
            self._at_last.add(line.text)
            return True
        return False  # already shown before the reconnect


class LogBuffer:
    def __init__(self, max_lines: int = 10_000) -> None:
        self.lines: deque[LogLine] = deque(maxlen=max_lines)
        self.dropped = 0  # lines pushed out of the buffer to keep it bounded

    def extend(self, batch: Iterable[LogLine]) -> list[LogLine]:
        """Add a batch in time order (pods merged); returns the batch as added."""
        added = sorted(batch, key=lambda line: (line.ts is None, line.ts or 0))
        overflow = len(self.lines) + len(added) - (self.lines.maxlen or 0)
        if overflow > 0:
            self.dropped += overflow
        self.lines.extend(added)
        return added
