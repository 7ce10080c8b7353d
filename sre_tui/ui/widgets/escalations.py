"""Escalation countdowns from incident start."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from sre_tui.core.escalation import Countdown
from sre_tui.core.timefmt import short_duration


class Escalations(Static):
    def show(self, countdowns: list[Countdown], is_open: bool) -> None:
        out = Text(no_wrap=True, overflow="ellipsis")
        if not countdowns:
            out.append("No escalation rules", style="dim")
        for index, countdown in enumerate(countdowns):
            if index:
                out.append("\n")
            if countdown.due:
                out.append(" DUE ", style="bold reverse yellow" if is_open else "dim")
            else:
                out.append(f"{short_duration(countdown.remaining):>5}", style="bold")
            out.append(f" escalate: {countdown.label}")
        self.update(out)
