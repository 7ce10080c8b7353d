"""The pods pane alone in a real terminal, on a cluster reached through KubeBackend (run by
`bench.pods`). Writes one JSON object per line to --out as things happen:

    {"e": "watch", "t": T}            the pane starts its list+watch
    {"e": "list", "t0": T, "t1": T, "n": N}   the list request (HTTPS, JSON parse)
    {"e": "first_table", "t": T, "rows": N}   after the frame that shows the full table
    {"e": "removed", "name": POD, "t": T, "apply0": T, "apply1": T}
                                      after the frame without that pod's row (and when
                                      the batch that removed it was applied)

Times are `time.monotonic()` (system-wide, comparable with the parent's).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from sre_tui.backends.kube import KubeBackend
from sre_tui.ui.widgets.pods_pane import PodsPane


class Recorder:
    def __init__(self, path: str) -> None:
        self.file = Path(path).open("a", encoding="utf-8")  # noqa: SIM115 - open for the run
        self.lock = threading.Lock()

    def __call__(self, **record: Any) -> None:
        with self.lock:
            self.file.write(json.dumps(record) + "\n")
            self.file.flush()


class TimedBackend(KubeBackend):
    record: Recorder

    def list_pods(
        self, selector: str | None = None, *, namespace: str | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        started = time.monotonic()
        items, version = super().list_pods(selector, namespace=namespace)
        self.record(e="list", t0=started, t1=time.monotonic(), n=len(items))
        return items, version


class TimedPodsPane(PodsPane):
    def __init__(self, record: Recorder, expect: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.record = record
        self.expect = expect
        self.shown = False

    def apply_queue(self) -> None:
        before = set(self.rows)
        started = time.monotonic()
        super().apply_queue()
        ended = time.monotonic()
        if not self.shown and len(self.rows) >= self.expect:
            self.shown = True
            rows = len(self.rows)
            self.call_after_refresh(
                lambda: self.record(e="first_table", t=time.monotonic(), rows=rows)
            )
        for name in before - set(self.rows):
            self.call_after_refresh(
                lambda name=name: self.record(
                    e="removed", name=name, t=time.monotonic(), apply0=started, apply1=ended
                )
            )


class Harness(App[None]):
    CSS = """
    PodsPane { height: 1fr; }
    #pods-status { height: 1; padding: 0 1; }
    #pods-table { height: 1fr; }
    #pod-events { height: auto; max-height: 6; padding: 0 1; border-top: solid $secondary; }
    """

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.record = Recorder(args.out)

    def compose(self) -> ComposeResult:
        yield TimedPodsPane(self.record, self.args.expect, id="pods")

    def on_mount(self) -> None:
        self.run_worker(self._connect, thread=True, exit_on_error=False)

    def _connect(self) -> None:
        # As the app does: the client is built off the event loop, after the first frame.
        try:
            backend = TimedBackend(self.args.kubeconfig, self.args.context, self.args.namespace)
        except Exception as exc:
            self.record(e="error", message=repr(exc))
            return
        backend.record = self.record
        self.call_from_thread(self._watch, backend)

    def _watch(self, backend: TimedBackend) -> None:
        self.record(e="watch", t=time.monotonic())
        self.query_one(PodsPane).watch(backend, self.args.selector)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--context", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--selector")
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--out", required=True)
    Harness(parser.parse_args()).run()


if __name__ == "__main__":
    main()
