"""Secret references (`keyring:NAME`, `env:VAR`) resolved at the moment of use.

Runbooks and plans hold only the reference; the value is looked up when a request is sent
and is never logged, printed, written or put into a message. Error messages name the
reference, never the value.

Keyring entries live under the service name "sre-tui" with NAME as the user name. On a
headless host (no D-Bus session, typical over SSH) keyring falls back to its `fail`
backend: that is reported plainly, and `env:` references keep working. Plaintext stores
(keyrings.alt's file backend is base64, not encryption) count as no secure store.

`keyring` is imported on first use, so importing this module (the CLI does) costs nothing.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sre_tui.core.runbook import SECRET_REF_PATTERN

SERVICE = "sre-tui"
NAME_PATTERN = r"^[A-Za-z0-9_.\-/]+$"
ENV_HINT = "use env:VAR references"


# Every value resolved in this process, so the app's log can mask it even if some code
# logs it by mistake (defence in depth: nothing should log it in the first place).
_resolved: frozenset[str] = frozenset()
_resolved_lock = threading.Lock()


def remember(value: str) -> None:
    """Mark `value` as a secret of this process (for `resolved_values`)."""
    global _resolved
    if value:
        with _resolved_lock:
            _resolved = _resolved | {value}


def resolved_values() -> frozenset[str]:
    """The secret values resolved so far in this process (a snapshot)."""
    return _resolved


class SecretError(Exception):
    """A secret could not be resolved or stored; the message names the reference only."""


@dataclass(frozen=True)
class SecretRef:
    scheme: Literal["keyring", "env"]
    name: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.name}"

    @property
    def placeholder(self) -> str:
        """What plans and dialogs show instead of the value."""
        return f"<secret {self}>"


def parse_ref(ref: str) -> SecretRef:
    """`keyring:NAME` or `env:VAR`; a bare NAME means `keyring:NAME`."""
    if ":" not in ref:
        ref = f"keyring:{ref}"
    if not re.match(SECRET_REF_PATTERN, ref):
        raise SecretError(
            f"{ref!r} is not a secret reference: expected keyring:NAME or env:VAR "
            "(letters, digits, '_', '.', '-', '/')"
        )
    scheme, _, name = ref.partition(":")
    return SecretRef("keyring" if scheme == "keyring" else "env", name)


def _keyring() -> Any:
    import keyring

    return keyring


def _backend() -> Any:
    return _keyring().get_keyring()


def backend_name(backend: Any | None = None) -> str:
    """Display name of the keyring backend in use, e.g. "SecretService Keyring"."""
    backend = _backend() if backend is None else backend
    try:
        return str(backend.name)
    except Exception:
        return type(backend).__name__


def keyring_problem() -> str | None:
    """Why the keyring cannot hold secrets here, or None when it can."""
    try:
        backend = _backend()
    except Exception as exc:  # keyring's own initialisation failed
        return _no_backend(f"keyring failed to start: {type(exc).__name__}")
    from keyring.backends import fail, null

    if isinstance(backend, fail.Keyring):
        return _no_backend("no Secret Service or D-Bus session, typical over SSH")
    if isinstance(backend, null.Keyring):
        return _no_backend("keyring is configured with its 'null' backend")
    module = type(backend).__module__
    if "plaintext" in backend_name(backend).lower() or module.startswith("keyrings.cryptfile"):
        return _no_backend(f"'{backend_name(backend)}' is not a secure store")
    return None


def _no_backend(why: str) -> str:
    return f"no usable keyring backend ({why}); {ENV_HINT}"


def _keyring_failed(action: str, ref: SecretRef, exc: BaseException) -> SecretError:
    # The exception text comes from the backend (D-Bus, Secret Service); it does not hold
    # the value, but keep it short.
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return SecretError(f"cannot {action} {ref}: {_no_backend(reason)}")


class SecretResolver:
    """Resolves references to values. `environ` defaults to the process environment."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def resolve(self, ref: str) -> str:
        """The secret's value (raises SecretError naming `ref` when it is missing)."""
        parsed = parse_ref(ref)
        if parsed.scheme == "env":
            environ = os.environ if self._environ is None else self._environ
            value = environ.get(parsed.name)
            if not value:
                raise SecretError(
                    f"{parsed} is not set: export {parsed.name} in the shell that starts sre-tui"
                )
            remember(value)
            return value
        value = get_keyring_secret(parsed.name)
        if value is None:
            raise SecretError(
                f"{parsed} is not set in the keyring ({backend_name()}): "
                f"store it with `sre-tui auth set {parsed.name}`"
            )
        remember(value)
        return value

    def where(self, ref: str) -> str | None:
        """Where the secret is held ("environment variable", the keyring backend's
        name), or None when it is not set. Never returns the value."""
        parsed = parse_ref(ref)
        if parsed.scheme == "env":
            environ = os.environ if self._environ is None else self._environ
            return "environment variable" if environ.get(parsed.name) else None
        if get_keyring_secret(parsed.name) is None:
            return None
        return f"keyring backend '{backend_name()}'"


def get_keyring_secret(name: str) -> str | None:
    """The stored value or None; SecretError when the keyring is unusable."""
    ref = SecretRef("keyring", name)
    if problem := keyring_problem():
        raise SecretError(f"cannot read {ref}: {problem}")
    try:
        value = _keyring().get_password(SERVICE, name)
    except Exception as exc:
        raise _keyring_failed("read", ref, exc) from None
    return value if value else None


def set_keyring_secret(name: str, value: str) -> str:
    """Store `value` under `keyring:NAME`; returns the backend's name."""
    ref = _checked_name(name)
    if not value:
        raise SecretError(f"refusing to store an empty value for {ref}")
    if problem := keyring_problem():
        raise SecretError(f"cannot store {ref}: {problem}")
    try:
        _keyring().set_password(SERVICE, name, value)
    except Exception as exc:
        # Only the class name: a backend could, in principle, echo what it was given.
        raise SecretError(f"cannot store {ref}: {_no_backend(type(exc).__name__)}") from None
    return backend_name()


def delete_keyring_secret(name: str) -> bool:
    """Delete `keyring:NAME`; False when it was not set."""
    ref = _checked_name(name)
    if problem := keyring_problem():
        raise SecretError(f"cannot delete {ref}: {problem}")
    keyring = _keyring()
    from keyring.errors import PasswordDeleteError

    try:
        if keyring.get_password(SERVICE, name) is None:
            return False
        keyring.delete_password(SERVICE, name)
    except PasswordDeleteError:
        return False
    except Exception as exc:
        raise _keyring_failed("delete", ref, exc) from None
    return True


def _checked_name(name: str) -> SecretRef:
    if not re.match(NAME_PATTERN, name):
        raise SecretError(
            f"{name!r} is not a valid secret name (letters, digits, '_', '.', '-', '/')"
        )
    return SecretRef("keyring", name)
