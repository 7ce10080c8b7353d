"""Performers: one per family of action kinds. Each reads the live value, asks the
server for a dry-run and an access review (where the server has them) and fills a
`core.actions.Plan`; `apply` carries the plan out exactly as shown and verifies the
result on the server. Blocking: call from worker threads, never the event loop.
"""

from __future__ import annotations

from typing import Any, Protocol

from sre_tui.core.actions import Outcome, Plan


class Performer(Protocol):
    def prepare(self, action: Any, value: str | None = None) -> Plan:
        """Read the live value, dry-run and access-review `action` (with the user's chosen
        `value` for env/configmap/scale/silence, else the action's own). Raises
        ActionError with a message for the user when the target cannot be read."""
        ...

    def apply(self, plan: Plan) -> Outcome:
        """Re-read the live value: if it differs from `plan.before`, refuse (conflict,
        nothing changed). Else apply, read back and verify."""
        ...

    def prepare_revert(self, plan: Plan, outcome: Outcome) -> Plan:
        """A plan that restores `plan.before` (raises ActionError when it cannot)."""
        ...
