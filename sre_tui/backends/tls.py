"""Say plainly when a connection failed because a TLS certificate was not trusted.

httpx and requests bury the `ssl.SSLCertVerificationError` under their own exception
types (and urllib3's retries), so the panes would only say "unreachable (ConnectError)".
"""

from __future__ import annotations

import ssl


def certificate_problem(exc: BaseException, depth: int = 8) -> str | None:
    """The verifier's reason ("self-signed certificate", "certificate has expired" …) when
    `exc` comes from a failed certificate check, else None."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return str(exc.verify_message or exc.reason or "certificate verify failed")
    if depth <= 0:
        return None
    inner: list[object] = [exc.__cause__, exc.__context__, getattr(exc, "reason", None)]
    inner += list(exc.args)
    for item in inner:
        if (
            isinstance(item, BaseException)
            and item is not exc
            and (found := certificate_problem(item, depth - 1))
        ):
            return found
    return None
