"""Time from `sre-tui run` to the first frame, in a real pseudo-terminal. Prints figures.

python tests/benchmarks/startup.py [RUNS]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import pexpect


def first_frame_seconds(state_dir: str) -> float:
    env = {**os.environ, "TERM": "xterm-256color", "SRE_TUI_STATE_DIR": state_dir}
    start = time.perf_counter()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sre_tui", "run", "service-timeout"],
        env=env,
        dimensions=(24, 80),
        timeout=30,
    )
    child.expect("Check service health")
    elapsed = time.perf_counter() - start
    child.sendcontrol("q")
    child.expect(pexpect.EOF)
    return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory() as state:
        first_frame_seconds(state)  # warm the file cache and bytecode
        times = [first_frame_seconds(state) for _ in range(runs)]
    print(
        f"sre-tui run → first frame, {runs} runs: median {statistics.median(times) * 1000:.0f} ms,"
        f" min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
