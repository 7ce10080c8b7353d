"""The app's own log: `<state>/logs/sre-tui.log`, rotating (1 MB × 3 old files).

Where an SRE looks to find out why a pane went red: backend failures as the panes report
them (once when they start or change, once when they recover, not on every poll), action
intents and outcomes (what and where, never credentials or headers), and crashes.

`configure` is called once by the CLI for the commands that open the UI; until then the
records go nowhere (the `sre_tui` logger has no handler and the app never prints to the
terminal it draws on). The handler carries `SecretMask`: any secret value resolved in this
process is masked, in its plain, base64 and URL-encoded forms, even if some code logs it
by mistake.
"""

from __future__ import annotations

import base64
import logging
import logging.handlers
import os
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path

from sre_tui.backends.secrets import resolved_values

LOGGER = "sre_tui"
MAX_BYTES = 1_000_000
BACKUPS = 3
MASK = "<secret>"
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"

log = logging.getLogger(LOGGER)


def log_path(state: Path) -> Path:
    return state / "logs" / "sre-tui.log"


def secret_forms(value: str) -> set[str]:
    """The ways a secret can appear in text: as it is, base64 (standard and URL-safe,
    without the padding, so a padded copy is masked too) and percent-encoded."""
    raw = value.encode()
    forms = {
        value,
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
    }
    return {form for form in forms if form}


class SecretMask(logging.Filter):
    """Replaces every form of every secret in `values()` in a record's text (message,
    traceback, stack) before a handler writes it."""

    def __init__(self, values: Callable[[], Iterable[str]] = resolved_values) -> None:
        super().__init__()
        self._values = values
        self._cache: tuple[frozenset[str], list[str]] = (frozenset(), [])
        self._lock = threading.Lock()

    def _forms(self) -> list[str]:
        values = frozenset(self._values())
        with self._lock:
            if values != self._cache[0]:
                forms = {form for value in values for form in secret_forms(value)}
                # Longest first: a form inside another must not break the longer match.
                self._cache = (values, sorted(forms, key=len, reverse=True))
            return self._cache[1]

    def mask(self, text: str) -> str:
        for form in self._forms():
            text = text.replace(form, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._forms():
            return True
        # Merge the arguments first: a secret may arrive as one of them.
        record.msg = self.mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


_handler: logging.Handler | None = None


def configure(
    state: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS
) -> logging.Handler | None:
    """Send the `sre_tui` records to the rotating log under `state` (once per process);
    returns the handler, or None when the directory cannot be written (the app runs
    without a log rather than not at all)."""
    global _handler
    if _handler is not None:
        return _handler
    path = log_path(state)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        os.chmod(path, 0o600)  # it names hosts, users and targets
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SecretMask())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # never to the terminal the app draws on
    _handler = handler
    return handler


def unconfigure() -> None:
    """Remove and close the handler (for tests and a clean exit)."""
    global _handler
    if _handler is not None:
        log.removeHandler(_handler)
        _handler.close()
        _handler = None
        log.setLevel(logging.NOTSET)
        log.propagate = True


# --- backend failures, on change ------------------------------------------------------------

_failing: dict[tuple[str, str], str] = {}
_failing_lock = threading.Lock()


def report(source: str, error: str | None, key: str = "") -> None:
    """What a pane shows for `source` (and `key`, e.g. a query): an error, or None when it
    works. Logged when a failure starts or changes and when it recovers: panes poll every
    few seconds, and a line per poll would bury everything else."""
    ident = (source, key)
    with _failing_lock:
        before = _failing.get(ident)
        if error is None:
            _failing.pop(ident, None)
        else:
            _failing[ident] = error
    where = f"{source} {key}".rstrip()
    if error is not None and error != before:
        logging.getLogger(f"{LOGGER}.{source}").warning("%s: %s", where, error)
    elif error is None and before is not None:
        logging.getLogger(f"{LOGGER}.{source}").info("%s: working again", where)
