"""The runbook's steps, grouped by section, as a checklist."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from sre_tui.core.incident import Incident
from sre_tui.core.runbook import Runbook, Step
from sre_tui.core.sanitize import inert
from sre_tui.core.timefmt import stamp

SECTION_PREFIX = "section:"


class Checklist(OptionList):
    """Steps are options (id = step id); section titles are disabled options between them."""

    BINDINGS = [
        Binding("space", "toggle", "Tick", id="tick"),
    ]

    class Toggled(Message):
        def __init__(self, step_id: str) -> None:
            super().__init__()
            self.step_id = step_id

    class StepHighlighted(Message):
        def __init__(self, step: Step | None) -> None:
            super().__init__()
            self.step = step

    def __init__(self, runbook: Runbook, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.runbook = runbook

    def show(self, incident: Incident) -> None:
        """Re-render every line from the incident's ticks, keeping the cursor."""
        highlighted = self.highlighted
        self.clear_options()
        options: list[Option] = []
        for section in self.runbook.sections:
            done = sum(1 for s in section.steps if s.id in incident.ticks)
            header = Text(no_wrap=True, overflow="ellipsis")
            header.append(inert(section.title), style="bold")
            header.append(f"  {done}/{len(section.steps)}", style="dim")
            options.append(Option(header, id=f"{SECTION_PREFIX}{section.id}", disabled=True))
            for step in section.steps:
                options.append(Option(self._line(step, incident), id=step.id))
        self.add_options(options)
        if highlighted is not None:
            self.highlighted = highlighted
        elif len(options) > 1:
            self.highlighted = 1  # the first step, below the first section title

    @staticmethod
    def _line(step: Step, incident: Incident) -> Text:
        tick = incident.ticks.get(step.id)
        line = Text()
        if tick:
            line.append("[x] ", style="bold green")
            line.append(inert(step.title), style="dim")
            line.append(f"  {stamp(tick.at)} {inert(tick.user)}", style="dim italic")
        else:
            line.append("[ ] ", style="bold")
            line.append(inert(step.title))
        markers = []
        if step.command:
            markers.append("$")
        if step.action:
            markers.append("⚡")
        if markers:
            line.append("  " + " ".join(markers), style="dim")
        return line

    @property
    def current_step(self) -> Step | None:
        if self.highlighted is None:
            return None
        option = self.get_option_at_index(self.highlighted)
        if option.id is None or option.id.startswith(SECTION_PREFIX):
            return None
        return self.runbook.step(option.id)

    def action_toggle(self) -> None:
        if (step := self.current_step) is not None:
            self.post_message(self.Toggled(step.id))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.post_message(self.StepHighlighted(self.current_step))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        # Enter ticks too, for terminals where Space is awkward to send.
        event.stop()
        self.action_toggle()
