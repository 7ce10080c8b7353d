"""`sre-tui auth set|get|delete NAME`: the secrets runbooks reference as `keyring:NAME`.

Values are read with getpass (never echoed) or from stdin when it is not a terminal
(`pass show flag-token | sre-tui auth set flag-service`), and are never printed: `get`
only says whether a secret is set and where.

Each leaf sub-command sets `args.func`, a handler `(args) -> int` (the exit status).
"""

from __future__ import annotations

import argparse
import getpass
import sys


def register(sub: argparse._SubParsersAction) -> None:
    auth = sub.add_parser(
        "auth",
        help="store, check or delete the secrets runbooks reference as keyring:NAME",
        description="Secrets live in the system keyring under the service 'sre-tui'. "
        "Where no keyring works (e.g. over SSH), use env:VAR references instead.",
    )
    actions = auth.add_subparsers(dest="auth_command", metavar="{set,get,delete}")
    actions.required = True

    set_ = actions.add_parser(
        "set",
        help="store a secret (prompted, not echoed; or read from stdin when piped)",
    )
    set_.add_argument("name", help="the NAME of keyring:NAME")
    set_.set_defaults(func=cmd_auth_set)

    get = actions.add_parser(
        "get", help="say whether a secret is set and which backend holds it (never the value)"
    )
    get.add_argument("name", help="NAME (keyring:NAME) or a reference keyring:NAME / env:VAR")
    get.add_argument(
        "--check",
        action="store_true",
        help="exit 0 when set, 1 when not (the value is never printed either way)",
    )
    get.set_defaults(func=cmd_auth_get)

    delete = actions.add_parser("delete", help="remove a secret from the keyring")
    delete.add_argument("name", help="the NAME of keyring:NAME")
    delete.set_defaults(func=cmd_auth_delete)


def _error(message: str) -> int:
    print(f"sre-tui auth: {message}", file=sys.stderr)
    return 1


def _read_value(name: str) -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"Secret for keyring:{name} (not echoed): ")
    data = sys.stdin.read() if sys.stdin is not None else ""
    # One trailing newline is the pipe's, not the secret's.
    return data.removesuffix("\n").removesuffix("\r")


def cmd_auth_set(args: argparse.Namespace) -> int:
    from sre_tui.backends.secrets import SecretError, keyring_problem, set_keyring_secret

    if problem := keyring_problem():
        return _error(f"cannot store keyring:{args.name}: {problem}")
    try:
        value = _read_value(args.name)
    except (EOFError, KeyboardInterrupt):
        return _error("no value given; nothing stored")
    if not value:
        return _error(f"empty value; nothing stored for keyring:{args.name}")
    try:
        backend = set_keyring_secret(args.name, value)
    except SecretError as exc:
        return _error(str(exc))
    print(f"stored keyring:{args.name} in the keyring ({backend})")
    return 0


def cmd_auth_get(args: argparse.Namespace) -> int:
    from sre_tui.backends.secrets import SecretError, SecretResolver, parse_ref

    try:
        ref = parse_ref(args.name)
        where = SecretResolver().where(str(ref))
    except SecretError as exc:
        return _error(str(exc))
    if where is None:
        print(f"{ref} is not set")
        return 1
    print(f"{ref} is set ({where}); sre-tui never prints secret values")
    return 0


def cmd_auth_delete(args: argparse.Namespace) -> int:
    from sre_tui.backends.secrets import SecretError, backend_name, delete_keyring_secret

    try:
        deleted = delete_keyring_secret(args.name)
    except SecretError as exc:
        return _error(str(exc))
    if not deleted:
        return _error(f"keyring:{args.name} is not set; nothing deleted")
    print(f"deleted keyring:{args.name} from the keyring ({backend_name()})")
    return 0
