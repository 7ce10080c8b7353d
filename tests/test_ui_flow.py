"""Pilot-driven: pick → tick → note → state → severity → resume → export."""

from __future__ import annotations

from pathlib import Path

from sre_tui.cli import main
from sre_tui.core.incident import IncidentState
from sre_tui.core.severity import Severity
from sre_tui.ui.app import create_app
from sre_tui.ui.dialogs.choice import ChoiceDialog
from sre_tui.ui.dialogs.help import HelpScreen
from sre_tui.ui.dialogs.text_view import TextView
from sre_tui.ui.screens.incident import IncidentScreen
from sre_tui.ui.screens.picker import PickerScreen
from tests.uitools import screen_text, wait_until


async def test_full_incident_flow(workspace, clock, tmp_path: Path) -> None:
    app = create_app(workspace, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, PickerScreen)
        await pilot.press(*"service-timeout", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        screen = app.screen
        incident_id = screen.incident.id
        text = screen_text(app)
        assert incident_id in text
        assert "SEV2" in text and "INVESTIGATING" in text
        assert "[ ] Check service health" in text

        # Tick: on disk, then on screen.
        clock.advance(60)
        await pilot.press("space")
        await wait_until(pilot, lambda: "check-health" in screen.incident.ticks)
        on_disk = workspace.store.load(incident_id).incident
        assert on_disk.ticks["check-health"].user == "oncall"
        assert on_disk.ticks["check-health"].at == clock()
        assert "[x] Check service health" in screen_text(app)

        # Untick and tick again: both on the timeline.
        await pilot.press("space")
        await wait_until(pilot, lambda: "check-health" not in screen.incident.ticks)
        assert "check-health" not in workspace.store.load(incident_id).incident.ticks
        await pilot.press("space")
        await wait_until(pilot, lambda: "check-health" in screen.incident.ticks)

        # A note full of markup stays literal text.
        await pilot.press("n")
        await pilot.press(*"p95 [bold]2.1s[/bold]", "enter")
        await wait_until(pilot, lambda: bool(screen.incident.notes))
        assert workspace.store.load(incident_id).incident.notes[0].data["text"] == (
            "p95 [bold]2.1s[/bold]"
        )
        await pilot.press("T")  # the timeline tab (at 80×24 the panes are tabs)
        await wait_until(
            pilot, lambda: "Note: p95" in (t := screen_text(app)) and "[bold]2.1s[/bold]" in t
        )

        # State: investigating → mitigated → resolved.
        clock.advance(240)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.incident.state is IncidentState.MITIGATED)
        assert "MITIGATED" in screen_text(app)
        clock.advance(300)
        await pilot.press("s", "enter")
        await wait_until(pilot, lambda: screen.incident.state is IncidentState.RESOLVED)

        # Severity SEV2 → SEV1 (the dialog opens on the current one).
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("up", "enter")
        await wait_until(pilot, lambda: screen.incident.severity is Severity.SEV1)

        # Handoff and help open and close by keyboard.
        await pilot.press("H")
        await wait_until(pilot, lambda: isinstance(app.screen, TextView))
        assert "Open steps:" in app.screen.text and "p95 [bold]2.1s[/bold]" in app.screen.text
        await pilot.press("escape", "question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        descriptions = [d for _, d in app.screen.rows]
        for wanted in ("Tick", "Note", "Copy cmd", "State", "Severity", "Handoff", "Keys"):
            assert wanted in descriptions
        await pilot.press("escape")

    # Resume in a new app: everything is back.
    active = workspace.resume(incident_id)
    assert active.incident.state is IncidentState.RESOLVED
    assert active.incident.severity is Severity.SEV1
    app = create_app(workspace, active, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        text = screen_text(app)
        assert "RESOLVED" in text and "SEV1" in text
        assert "[x] Check service health" in text

    out = tmp_path / "pm.md"
    assert main(["export", incident_id, "-o", str(out)]) == 0
    report = out.read_text()
    assert "| Time to mitigate | 0:05:00 |" in report
    assert "| Time to resolve | 0:10:00 |" in report
    assert "- [x] Check service health" in report
    assert "- [ ] Check pods are running and ready — not done" in report
    assert "p95 [bold]2.1s[/bold]" in report
    assert "State investigating → mitigated" in report


async def test_copy_command_uses_osc52(workspace, clock) -> None:
    active = workspace.start(workspace.runbooks.by_id("service-timeout"), now=clock())
    app = create_app(workspace, active, clock=clock)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # the terminal side of OSC 52 is not ours to test
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await pilot.press("c")
        await pilot.pause()
    assert copied == [
        "kubectl get --raw /api/v1/namespaces/staging/services/service-name:8080/proxy/health"
    ]


async def test_incident_without_runbook(workspace, clock) -> None:
    app = create_app(workspace, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press(*"Checkout returns 502", "tab", "enter")  # open the severity list
        await pilot.pause()
        await pilot.press("up", "up", "enter")  # SEV3 → SEV1
        await pilot.pause()
        await pilot.press("shift+tab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        incident = app.screen.incident
        assert incident.title == "Checkout returns 502"
        assert incident.severity is Severity.SEV1
        assert incident.runbook_id is None
        text = screen_text(app)
        assert "Checkout returns 502" in text and "SEV1" in text
    stored = workspace.store.load(incident.id)
    assert stored.runbook_source is None
    assert stored.incident.title == "Checkout returns 502"


async def test_escalation_notifies_when_due(workspace, clock) -> None:
    active = workspace.start(workspace.runbooks.by_id("service-timeout"), now=clock())
    app = create_app(workspace, active, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        screen = app.screen
        await pilot.press("T")
        await wait_until(
            pilot,
            lambda: "15m escalate: Secondary on-call" in " ".join(screen_text(app).split()),
        )
        clock.advance(15 * 60 + 1)
        await wait_until(
            pilot,
            lambda: any(
                e.kind == "escalation" and "Secondary on-call" in e.data["to"]
                for e in screen.incident.events
            ),
        )
        stored = workspace.store.load(active.incident.id).incident
        assert any("Secondary on-call" in e.data.get("to", "") for e in stored.events)
        await wait_until(
            pilot,
            lambda: any("Escalate now: Secondary on-call" in n.message for n in app._notifications),
        )


async def test_panes_switch_by_key_and_zoom(workspace, clock) -> None:
    from textual.widgets import TabbedContent

    active = workspace.start(workspace.runbooks.by_id("service-timeout"), now=clock())
    app = create_app(workspace, active, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        tabs = app.screen.query_one(TabbedContent)
        for key, tab in (
            ("m", "tab-metrics"),
            ("p", "tab-pods"),
            ("l", "tab-logs"),
            ("k", "tab-checks"),
            ("T", "tab-timeline"),
            ("i", "tab-step"),
        ):
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == tab, key
        # No Prometheus in this environment: the metrics pane says so, plainly.
        await pilot.press("m")
        await wait_until(pilot, lambda: "Prometheus is not configured" in screen_text(app))
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is tabs
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is None
        # A step that names evidence brings its pane forward.
        await pilot.press("escape")
        app.screen.query_one("#checklist").focus()
        await pilot.press("down", "down", "down")  # "Confirm p95 latency" → metrics
        await pilot.pause()
        assert tabs.active == "tab-metrics"
        await pilot.press("down")  # "Check logs for timeout errors" → logs, filtered
        await pilot.pause()
        assert tabs.active == "tab-logs"


async def test_switching_panes_does_not_keep_old_footer_keys(workspace, clock) -> None:
    """Each focus change rebuilds the footer's keys; the old ones must be let go (they
    leaked ~0.8 MB per switch in the load bench: Textualize/textual#6666)."""
    import gc

    from textual.widgets._footer import FooterKey

    def alive() -> int:
        gc.collect()
        return sum(isinstance(obj, FooterKey) for obj in gc.get_objects())

    active = workspace.start(workspace.runbooks.by_id("service-timeout"), now=clock())
    app = create_app(workspace, active, clock=clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        for key in "plm":
            await pilot.press(key)
            await pilot.pause()
        settled = alive()
        for key in "plmk" * 3:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause()
        shown = len(app.screen.query(FooterKey))
        assert shown > 5
        assert alive() <= max(settled, 2 * shown)
