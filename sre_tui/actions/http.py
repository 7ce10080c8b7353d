"""HTTP kill switches: a request to a feature-flag service or a rate limiter.

The plan shows the exact request (method, URL, body, headers) with the credential as its
reference (`<secret keyring:flag-service>`); the secret is resolved only when a request is
sent and never enters the plan, the outcome or a message. When the action declares a
`read` request, the current value is read for the dialog, re-read before applying (a
change in between refuses the action) and read back afterwards to verify it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from sre_tui.backends.secrets import SecretError, SecretResolver, parse_ref
from sre_tui.core.actions import Access, ActionError, DryRun, Outcome, Plan
from sre_tui.core.incident import EnvInfo
from sre_tui.core.runbook import HttpAction
from sre_tui.core.sanitize import inert

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
EXCERPT_CHARS = 300
NO_REVERT = "cannot be reverted: the action declares no revert request"
NO_ACCESS_REVIEW = "no access review for HTTP services"
# A credential that already names its scheme ("Basic …", "Token …") is sent as it is.
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*\s+\S")
# Header values from the runbook shown as <hidden> in plans (they may hold credentials).
_SENSITIVE_HEADER = re.compile(r"authorization|cookie|api[-_]?key|token|secret|passw", re.I)


class _Failure(Exception):
    """A request failed; the message is for the user and holds no secret."""


def render(value: Any) -> str:
    """A JSON value as the dialog shows it: strings bare, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict))


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path ("limits.0.requests_per_second"); KeyError if absent."""
    if not path:
        return data
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            raise KeyError(part)
    return data


def authorization(secret: str) -> str:
    return secret if _HAS_SCHEME.match(secret) else f"Bearer {secret}"


def _body_text(body: Any) -> str:
    return "(none)" if body is None else json.dumps(body, ensure_ascii=False)


def _confirm_name(url: str) -> str:
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    return segments[-1] if segments else (parts.hostname or url)


class HttpPerformer:
    """Performer for `HttpAction` (see `sre_tui.actions.Performer`). Blocking."""

    def __init__(
        self,
        env: EnvInfo,
        secrets: SecretResolver | None = None,
        *,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        self.env = env
        self.secrets = secrets if secrets is not None else SecretResolver()
        self.timeout = timeout

    # --- Performer ------------------------------------------------------------------------

    def prepare(self, action: HttpAction, value: str | None = None) -> Plan:
        """`value` is not used: an HTTP action sends its own body."""
        if not isinstance(action, HttpAction):
            raise ActionError(f"the HTTP performer cannot run a {action.kind!r} action")
        read = action.read
        revert = action.revert
        state: dict[str, Any] = {
            "op": "request",
            "method": action.method,
            "url": action.url,
            "body": action.body,
            "headers": dict(action.headers),
            "auth": action.auth,  # the reference only, never the value
            "expect_status": list(action.expect_status),
            "read": None
            if read is None
            else {"method": read.method, "url": read.url or action.url, "field": read.field},
            "revert": None
            if revert is None
            else {
                "method": revert.method or action.method,
                "url": revert.url or action.url,
                "body": revert.body,
            },
        }
        if state["revert"] is None:
            note = NO_REVERT
        else:
            spec = state["revert"]
            note = f"revert request: {spec['method']} {spec['url']} {_body_text(spec['body'])}"
        return self._plan(
            state,
            action_id=action.id,
            title=action.title,
            namespace=action.namespace or self.env.namespace,
            revertible=state["revert"] is not None,
            revert_note=note,
        )

    def apply(self, plan: Plan) -> Outcome:
        state = plan.state
        method, url = state["method"], state["url"]
        try:
            secret = self._secret(state.get("auth"))
        except ActionError as exc:
            return Outcome(False, f"nothing sent: {exc}")
        scrub = _scrubber(secret)
        read = state.get("read")
        try:
            with self._client() as client:
                if read is not None:
                    current = self._read(client, read, state, secret)
                    if plan.before_known and current != plan.before:
                        return Outcome(
                            False,
                            f"refused: {read['field'] or 'the value'} changed since the dialog "
                            f"opened (shown {plan.before}, now {current}); nothing was sent",
                            conflict=True,
                            current=current,
                        )
                response = self._send(client, method, url, state["body"], state, secret)
        except _Failure as exc:
            return Outcome(False, scrub(str(exc)))
        excerpt = scrub(_excerpt(response))
        expected = state.get("expect_status") or [200, 201, 202, 204]
        if response.status_code not in expected:
            return Outcome(
                False,
                f"{method} {url} answered {response.status_code} "
                f"(expected {', '.join(map(str, expected))}): {_reason(response, scrub)}",
                response=excerpt,
            )
        sent = f"{method} {url} → {response.status_code}"
        if read is None:
            return Outcome(
                True,
                f"{sent}; the action declares no read request to verify it",
                response=excerpt,
                revert_state=_revert_state(state),
            )
        try:
            with self._client() as client:
                after = self._read(client, read, state, secret)
        except _Failure as exc:
            return Outcome(
                True,
                f"{sent}, but the new value could not be read back: {scrub(str(exc))}",
                response=excerpt,
                revert_state=_revert_state(state),
            )
        label = read["field"] or "the value"
        wanted = _expected_after(state)
        if wanted is not None and after != wanted:
            return Outcome(
                False,
                f"{sent}, but {label} reads {after}, not {wanted}",
                after=after,
                response=excerpt,
                revert_state=_revert_state(state),
            )
        return Outcome(
            True,
            f"{sent}; server now has {label} = {after}",
            after=after,
            response=excerpt,
            revert_state=_revert_state(state),
        )

    def prepare_revert(self, plan: Plan, outcome: Outcome) -> Plan:
        spec = plan.state.get("revert")
        if not spec:
            raise ActionError(NO_REVERT)
        state = {
            **plan.state,
            "method": spec["method"],
            "url": spec["url"],
            "body": spec["body"],
            "revert": None,
        }
        return self._plan(
            state,
            action_id=plan.action_id,
            title=f"Revert: {plan.title}",
            namespace=plan.namespace,
            revertible=False,
            revert_note="this request undoes an earlier action; it has no revert of its own",
        )

    # --- helpers --------------------------------------------------------------------------

    def _plan(
        self,
        state: dict[str, Any],
        *,
        action_id: str,
        title: str,
        namespace: str | None,
        revertible: bool,
        revert_note: str,
    ) -> Plan:
        method, url, read = state["method"], state["url"], state["read"]
        secret = self._secret(state.get("auth"))
        before: str | None = None
        if read is not None:
            try:
                with self._client() as client:
                    before = self._read(client, read, state, secret)
            except _Failure as exc:
                raise ActionError(
                    f"cannot read the current value: {_scrubber(secret)(str(exc))}"
                ) from None
        details = [f"request: {method} {url}", f"body: {_body_text(state['body'])}"]
        for name, value in sorted(state["headers"].items()):
            if state.get("auth") and name.lower() == "authorization":
                continue
            shown = "<hidden>" if _SENSITIVE_HEADER.search(name) else value
            details.append(f"header {name}: {shown}")
        if state.get("auth"):
            details.append(f"header Authorization: {parse_ref(state['auth']).placeholder}")
        if read is None:
            details.append("current value: unknown (the action declares no read request)")
        else:
            field = read["field"] or "(the whole answer)"
            details.append(f"current value: {read['method']} {read['url']} field {field}")
        expected = state.get("expect_status") or []
        details.append(f"expected status: {', '.join(map(str, expected))}")
        details.append(revert_note)
        return Plan(
            action_id=action_id,
            kind="http",
            title=title,
            environment=self.env.name,
            context=self.env.context,
            namespace=namespace,
            production=self.env.production,
            target=f"{method} {url}",
            confirm_name=_confirm_name(url),
            subject=(read["field"] if read and read["field"] else "body"),
            before=before,
            after=_expected_after(state) or _after_text(state),
            dry_run=DryRun.unavailable("http"),
            access=Access(None, NO_ACCESS_REVIEW),
            revertible=revertible,
            revert_note=revert_note,
            details=tuple(inert(line) for line in details),
            state=state,
            before_known=read is not None,
        )

    def _secret(self, ref: str | None) -> str | None:
        if not ref:
            return None
        try:
            return self.secrets.resolve(ref)
        except SecretError as exc:
            raise ActionError(str(exc)) from None

    def _client(self) -> httpx.Client:
        # The environment's one TLS switch covers webhooks too (the header shows it off).
        return httpx.Client(
            timeout=self.timeout, follow_redirects=False, verify=self.env.tls_verify
        )

    def _headers(self, state: dict[str, Any], secret: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", **state["headers"]}
        if secret is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers["Authorization"] = authorization(secret)
        return headers

    def _send(
        self,
        client: httpx.Client,
        method: str,
        url: str,
        body: Any,
        state: dict[str, Any],
        secret: str | None,
    ) -> httpx.Response:
        headers = self._headers(state, secret)
        try:
            if body is None:
                return client.request(method, url, headers=headers)
            return client.request(method, url, headers=headers, json=body)
        except httpx.TimeoutException:
            raise _Failure(f"{method} {url} timed out") from None
        except httpx.ConnectError as exc:
            raise _Failure(f"{method} {url} is unreachable ({inert(str(exc))})") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _Failure(f"{method} {url} failed ({type(exc).__name__})") from None

    def _read(
        self,
        client: httpx.Client,
        read: dict[str, Any],
        state: dict[str, Any],
        secret: str | None,
    ) -> str:
        method, url, field = read["method"], read["url"], read["field"]
        response = self._send(client, method, url, None, state, secret)
        if not response.is_success:
            scrub = _scrubber(secret)
            raise _Failure(
                f"{method} {url} answered {response.status_code}: {_reason(response, scrub)}"
            )
        try:
            data = response.json()
        except ValueError:
            raise _Failure(
                f"the answer of {method} {url} is not JSON: "
                f"{_scrubber(secret)(_excerpt(response, status=False))}"
            ) from None
        try:
            return render(lookup(data, field))
        except KeyError:
            raise _Failure(f"no field {field!r} in the answer of {method} {url}") from None


def _expected_after(state: dict[str, Any]) -> str | None:
    """The read field's value in the body, when the body names it."""
    read, body = state.get("read"), state.get("body")
    if not read or not read["field"] or body is None:
        return None
    try:
        return render(lookup(body, read["field"]))
    except KeyError:
        return None


def _after_text(state: dict[str, Any]) -> str:
    body = state.get("body")
    return "(request without a body)" if body is None else _body_text(body)


def _revert_state(state: dict[str, Any]) -> dict[str, Any]:
    return {"revert": state["revert"]} if state.get("revert") else {}


def _excerpt(response: httpx.Response, *, status: bool = True) -> str:
    text = inert(response.text.strip())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    return f"{response.status_code} {text}".rstrip() if status else text


def _reason(response: httpx.Response, scrub: Callable[[str], str]) -> str:
    """The server's own explanation: a JSON `message`/`error`, else the text."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            if isinstance(data.get(key), str) and data[key]:
                return scrub(inert(data[key])[:EXCERPT_CHARS])
    return scrub(_excerpt(response, status=False)) or response.reason_phrase


def _scrubber(secret: str | None) -> Callable[[str], str]:
    """Replaces the secret in text a server sent back (some echo the header)."""

    def scrub(text: str) -> str:
        if secret:
            text = text.replace(authorization(secret), "<secret>").replace(secret, "<secret>")
        return text

    return scrub
