"""Pure logic behind the live panes: alert mapping, inert text, pod rows, thresholds, logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sre_tui.core.alerts import Alert, runbook_for, runbook_id_from_url, severity_of
from sre_tui.core.logbuffer import LogBuffer, LogLine, ResumePoint, parse_line
from sre_tui.core.metrics import Level, level, reading, verify_holds
from sre_tui.core.pods import pod_row, summary
from sre_tui.core.runbook import Query, Verify
from sre_tui.core.sanitize import inert
from sre_tui.core.severity import Severity, SeverityPolicy

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://r.example/runbooks/service-timeout", "service-timeout"),
        ("https://r.example/runbooks/service-timeout.md#triage", "service-timeout"),
        ("https://r.example/runbooks/service-timeout/?x=1", "service-timeout"),
        ("service-timeout.yaml", "service-timeout"),
    ],
)
def test_runbook_id_from_url(url: str, expected: str) -> None:
    assert runbook_id_from_url(url) == expected


def test_alert_maps_by_url_then_by_name(workspace) -> None:
    books = [loaded.runbook for loaded in workspace.runbooks.runbooks]
    by_url = Alert("Whatever", {}, {"runbook_url": "https://x/rb/websocket-overload.md"})
    assert runbook_for(by_url, books).id == "websocket-overload"
    by_name = Alert("ServiceTimeouts", {"deployment": "checkout"})
    assert runbook_for(by_name, books).id == "service-timeout"
    assert runbook_for(Alert("NobodyKnowsMe", {}), books) is None


def test_alert_severity_from_priority_or_label() -> None:
    policy = SeverityPolicy()
    assert severity_of(Alert("a", {"priority": "P0"}), policy) is Severity.SEV1
    assert severity_of(Alert("a", {"priority": "p2"}), policy) is Severity.SEV3
    assert severity_of(Alert("a", {"severity": "critical"}), policy) is Severity.SEV1
    assert severity_of(Alert("a", {"severity": "SEV2"}), policy) is Severity.SEV2
    assert severity_of(Alert("a", {}), policy) is None


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b[2J\x1b[H",  # clear screen, home
        "\x1b]0;pwned\x07",  # window title
        "\x1b]52;c;cm0gLXJmIC8=\x1b\\",  # clipboard write
        "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",  # hyperlink
        "\x9b31m",  # 8-bit CSI
        "\x1bP+q\x1b\\",  # DCS query
        "a\x08\x08b\x7fc\r\n",
    ],
)
def test_inert_removes_every_control(hostile: str) -> None:
    out = inert(f"before {hostile} after")
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in out)
    assert out.startswith("before ") and out.endswith(" after")


def test_inert_keeps_markup_as_text() -> None:
    assert inert("[bold red]x[/] [@click=app.quit]y[/]") == "[bold red]x[/] [@click=app.quit]y[/]"


def test_pod_row_reads_like_kubectl() -> None:
    pod = {
        "metadata": {"name": "checkout-1", "creationTimestamp": "2026-11-23T03:00:00Z"},
        "spec": {"nodeName": "node-a", "containers": [{"name": "c"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "ready": False,
                    "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ],
        },
    }
    row = pod_row(pod)
    assert (row.status, row.ready, row.restarts, row.node) == (
        "CrashLoopBackOff",
        "0/1",
        4,
        "node-a",
    )
    assert row.age(T0 + timedelta(minutes=5)) == 300
    pod["metadata"]["deletionTimestamp"] = "2026-11-23T03:06:00Z"
    assert pod_row(pod).status == "Terminating"
    assert summary([row]) == "1 pods, 0 ready, 4 restarts, 1 CrashLoopBackOff"


def test_thresholds_and_readings() -> None:
    q = Query(id="p95", title="p95 latency", promql="x", unit="s", warn=0.5, crit=1.0)
    assert [level(v, q) for v in (0.2, 0.5, 1.8, None)] == [
        Level.OK,
        Level.WARN,
        Level.CRIT,
        Level.UNKNOWN,
    ]
    assert reading(1.8, q) == "p95 latency 1.8 s (crit ≥ 1)"
    below = Query(id="r", title="ready", promql="x", warn=2, crit=1, direction="below")
    assert level(0, below) is Level.CRIT and level(3, below) is Level.OK
    assert verify_holds(0.3, Verify(query="p95", below=0.5)) is True
    assert verify_holds(0.7, Verify(query="p95", below=0.5)) is False
    assert verify_holds(None, Verify(query="p95", below=0.5)) is None


def test_log_lines_parse_timestamps_and_turn_inert() -> None:
    line = parse_line("2026-11-23T03:00:01.123456789Z \x1b[31mERROR\x1b[0m timeout\n", "p1")
    assert line.ts == T0.replace(second=1, microsecond=123456)
    assert line.text == "ERROR timeout"


def test_buffer_is_bounded_and_counts_drops_and_merges_by_time() -> None:
    buffer = LogBuffer(max_lines=3)
    buffer.extend(
        [
            LogLine(T0 + timedelta(seconds=s), p, f"{p}{s}")
            for s, p in ((2, "b"), (1, "a"), (3, "a"))
        ]
    )
    assert [line.text for line in buffer.lines] == ["a1", "b2", "a3"]
    buffer.extend([LogLine(T0 + timedelta(seconds=4), "b", "b4")])
    assert buffer.dropped == 1 and [line.text for line in buffer.lines] == ["b2", "a3", "b4"]


def test_resume_point_skips_lines_already_shown() -> None:
    point = ResumePoint()
    first = [LogLine(T0, "p", "x"), LogLine(T0 + timedelta(seconds=1), "p", "y")]
    assert [point.fresh(line) for line in first] == [True, True]
    # A reconnect with sinceTime=last_ts repeats the line at last_ts, then goes on.
    again = [
        LogLine(T0 + timedelta(seconds=1), "p", "y"),
        LogLine(T0 + timedelta(seconds=2), "p", "z"),
    ]
    assert [point.fresh(line) for line in again] == [False, True]
