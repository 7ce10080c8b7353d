"""The text of a typical service log line, shared by the log harness and the sandbox's
firehose so both benchmarks stream the same kind of line."""

from __future__ import annotations


def log_text(i: int) -> str:
    """Line `i`: distinct, ~130 characters, a warning every 50th and a timeout (which the
    service-timeout runbook highlights) every 97th."""
    level = "warn" if i % 50 == 0 else "info"
    return (
        f'level={level} msg="GET /api/v1/orders/{i} 200" latency_ms={i % 997} '
        f"upstream=payments:8080 trace_id={i * 2654435761 % 2**64:016x} user=u{i % 5000}"
        + (" error=upstream timeout" if i % 97 == 0 else "")
    )
