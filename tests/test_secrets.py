"""Secret references: keyring and environment, and an unusable keyring said plainly."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.compat import properties
from keyring.errors import KeyringError, PasswordDeleteError

from sre_tui.backends.secrets import (
    SERVICE,
    SecretError,
    SecretResolver,
    delete_keyring_secret,
    keyring_problem,
    parse_ref,
    set_keyring_secret,
)

VALUE = "s3cret-value-0xDEADBEEF"


class MemoryKeyring(KeyringBackend):
    """In-memory store, only ever installed explicitly (never picked by auto-detection)."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test backend: installed with keyring.set_keyring only")

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class BrokenKeyring(MemoryKeyring):
    """A Secret Service that answers with errors (locked collection, D-Bus trouble)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("org.freedesktop.DBus.Error.ServiceUnknown")


@pytest.fixture
def use_keyring() -> Iterator[Callable[[KeyringBackend], KeyringBackend]]:
    previous = keyring.get_keyring()

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(previous)


def test_keyring_reference_resolves(use_keyring) -> None:
    backend = use_keyring(MemoryKeyring())
    backend.store[(SERVICE, "flag-service")] = VALUE
    assert keyring_problem() is None
    resolver = SecretResolver()
    assert resolver.resolve("keyring:flag-service") == VALUE
    assert resolver.where("keyring:flag-service") == "keyring backend 'test secrets MemoryKeyring'"


def test_env_reference_resolves_and_missing_one_names_the_variable() -> None:
    resolver = SecretResolver({"FLAG_TOKEN": VALUE, "EMPTY": ""})
    assert resolver.resolve("env:FLAG_TOKEN") == VALUE
    assert resolver.where("env:FLAG_TOKEN") == "environment variable"
    for ref in ("env:MISSING", "env:EMPTY"):
        with pytest.raises(SecretError, match=rf"{ref} is not set: export"):
            resolver.resolve(ref)
        assert resolver.where(ref) is None


def test_env_reference_reads_the_process_environment(monkeypatch) -> None:
    monkeypatch.setenv("SRE_TUI_TEST_TOKEN", VALUE)
    assert SecretResolver().resolve("env:SRE_TUI_TEST_TOKEN") == VALUE


def test_missing_keyring_secret_says_how_to_store_it(use_keyring) -> None:
    use_keyring(MemoryKeyring())
    with pytest.raises(SecretError) as caught:
        SecretResolver().resolve("keyring:flag-service")
    assert "keyring:flag-service is not set" in str(caught.value)
    assert "sre-tui auth set flag-service" in str(caught.value)


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring], ids=["fail", "null"])
def test_unusable_keyring_is_said_plainly_and_env_still_works(use_keyring, backend) -> None:
    use_keyring(backend())
    problem = keyring_problem()
    assert problem is not None
    assert problem.startswith("no usable keyring backend (")
    assert problem.endswith("; use env:VAR references")
    resolver = SecretResolver({"FLAG_TOKEN": VALUE})
    with pytest.raises(SecretError, match="keyring:flag-service: no usable keyring backend"):
        resolver.resolve("keyring:flag-service")
    assert resolver.resolve("env:FLAG_TOKEN") == VALUE
    with pytest.raises(SecretError, match="no usable keyring backend"):
        set_keyring_secret("flag-service", VALUE)


def test_keyring_errors_become_a_plain_message(use_keyring) -> None:
    use_keyring(BrokenKeyring())
    with pytest.raises(SecretError) as caught:
        SecretResolver().resolve("keyring:flag-service")
    message = str(caught.value)
    assert message.startswith("cannot read keyring:flag-service: no usable keyring backend")
    assert "KeyringError" in message and "use env:VAR references" in message


def test_set_and_delete(use_keyring) -> None:
    backend = use_keyring(MemoryKeyring())
    assert set_keyring_secret("team/flag-service", VALUE) == "test secrets MemoryKeyring"
    assert backend.store[(SERVICE, "team/flag-service")] == VALUE
    assert delete_keyring_secret("team/flag-service") is True
    assert delete_keyring_secret("team/flag-service") is False
    with pytest.raises(SecretError, match="empty value"):
        set_keyring_secret("x", "")
    with pytest.raises(SecretError, match="not a valid secret name"):
        set_keyring_secret("bad name", VALUE)


@pytest.mark.parametrize("ref", ["vault:x", "keyring:", "env:A B", "keyring:a;b"])
def test_invalid_reference(ref: str) -> None:
    with pytest.raises(SecretError, match="is not a secret reference"):
        SecretResolver({}).resolve(ref)


def test_bare_name_means_keyring_and_placeholder_names_the_reference() -> None:
    assert str(parse_ref("flag-service")) == "keyring:flag-service"
    assert parse_ref("env:TOKEN").placeholder == "<secret env:TOKEN>"
