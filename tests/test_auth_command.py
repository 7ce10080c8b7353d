"""`sre-tui auth set|get|delete`: secrets stored, checked and deleted, never shown."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pexpect
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

from sre_tui.auth_command import register
from sre_tui.backends.secrets import SERVICE

VALUE = "tok-3f9a7c1e5b2d"
HERE = Path(__file__).resolve().parent


class FileKeyring(KeyringBackend):
    """A JSON file at $SRE_TUI_TEST_KEYRING, so a child process (the pty test) and the test
    see the same store. Never picked by auto-detection."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test backend: installed explicitly only")

    @property
    def path(self) -> Path:
        return Path(os.environ["SRE_TUI_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("not found")
        self.path.write_text(json.dumps(data))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileKeyring]:
    monkeypatch.setenv("SRE_TUI_TEST_KEYRING", str(tmp_path / "keyring.json"))
    previous = keyring.get_keyring()
    backend = FileKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sre-tui")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_set_from_stdin_stores_without_printing(store, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(VALUE + "\n"))
    assert run(["auth", "set", "flag-service"]) == 0
    assert store.get_password(SERVICE, "flag-service") == VALUE
    out = capsys.readouterr()
    assert "stored keyring:flag-service" in out.out
    assert VALUE not in out.out + out.err


def test_get_check_says_where_and_never_the_value(store, monkeypatch, capsys) -> None:
    store.set_password(SERVICE, "flag-service", VALUE)
    assert run(["auth", "get", "flag-service", "--check"]) == 0
    out = capsys.readouterr()
    assert "keyring:flag-service is set" in out.out
    assert "test auth command FileKeyring" in out.out
    assert VALUE not in out.out + out.err

    assert run(["auth", "get", "other", "--check"]) == 1
    assert "keyring:other is not set" in capsys.readouterr().out

    monkeypatch.setenv("FLAG_TOKEN", VALUE)
    assert run(["auth", "get", "env:FLAG_TOKEN", "--check"]) == 0
    out = capsys.readouterr()
    assert "env:FLAG_TOKEN is set (environment variable)" in out.out
    assert VALUE not in out.out


def test_delete(store, capsys) -> None:
    store.set_password(SERVICE, "flag-service", VALUE)
    assert run(["auth", "delete", "flag-service"]) == 0
    assert store.get_password(SERVICE, "flag-service") is None
    assert run(["auth", "delete", "flag-service"]) == 1
    assert "keyring:flag-service is not set; nothing deleted" in capsys.readouterr().err
    assert run(["auth", "get", "flag-service", "--check"]) == 1


def test_empty_input_stores_nothing(store, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert run(["auth", "set", "flag-service"]) == 1
    assert "empty value" in capsys.readouterr().err
    assert store.get_password(SERVICE, "flag-service") is None


def test_invalid_name_is_refused(store, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(VALUE))
    assert run(["auth", "set", "bad name"]) == 1
    assert "not a valid secret name" in capsys.readouterr().err


def test_no_usable_keyring_is_said_plainly(monkeypatch, capsys) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        monkeypatch.setattr(sys, "stdin", io.StringIO(VALUE))
        assert run(["auth", "set", "flag-service"]) == 1
        err = capsys.readouterr().err
        assert "no usable keyring backend" in err and "use env:VAR references" in err
        assert run(["auth", "get", "flag-service", "--check"]) == 1
        assert "no usable keyring backend" in capsys.readouterr().err
        assert run(["auth", "delete", "flag-service"]) == 1
    finally:
        keyring.set_keyring(previous)
    assert VALUE not in err


def test_subcommand_is_required(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        run(["auth"])
    assert exited.value.code == 2


def test_prompt_on_a_terminal_does_not_echo(tmp_path: Path) -> None:
    """A real pseudo-terminal: getpass turns echo off, so the value never appears."""
    store_path = tmp_path / "keyring.json"
    code = (
        "import argparse, sys\n"
        "import keyring, test_auth_command\n"
        "keyring.set_keyring(test_auth_command.FileKeyring())\n"
        "from sre_tui.auth_command import register\n"
        "p = argparse.ArgumentParser(prog='sre-tui')\n"
        "register(p.add_subparsers(dest='command'))\n"
        "a = p.parse_args(sys.argv[1:])\n"
        "sys.exit(a.func(a))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)]),
        "SRE_TUI_TEST_KEYRING": str(store_path),
    }
    child = pexpect.spawn(
        sys.executable,
        ["-c", code, "auth", "set", "flag-service"],
        env=env,
        encoding="utf-8",
        timeout=20,
    )
    child.expect("Secret for keyring:flag-service")
    child.sendline(VALUE)
    child.expect(pexpect.EOF)
    child.close()
    transcript = (child.before or "") + (child.after if isinstance(child.after, str) else "")
    assert child.exitstatus == 0, transcript
    assert "stored keyring:flag-service" in transcript
    assert VALUE not in transcript
    assert json.loads(store_path.read_text()) == {f"{SERVICE}/flag-service": VALUE}
