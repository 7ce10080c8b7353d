"""Who may do what in the sandbox: enough RBAC to demonstrate read-only and denied users."""

from __future__ import annotations

from dataclasses import dataclass

MUTATING_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


def _matches(pattern: str, verb_or_resource: str) -> bool:
    return pattern in ("*", verb_or_resource)


@dataclass(frozen=True)
class AccessPolicy:
    """`deny` holds (verb, resource) pairs with RBAC's matching: "*" matches anything,
    "deployments" matches only the resource itself, "deployments/scale" one subresource and
    "deployments/*" every subresource (so denying patch on deployments leaves `scale`
    allowed, as a Role without that subresource would)."""

    read_only: bool = False
    deny: tuple[tuple[str, str], ...] = ()

    def allows(
        self, verb: str, resource: str, namespace: str | None, subresource: str = ""
    ) -> tuple[bool, str]:
        """(allowed, reason) for `verb` on `resource[/subresource]` in `namespace`."""
        if self.read_only and verb in MUTATING_VERBS:
            return False, f"read-only access: {verb} is not permitted"
        full = f"{resource}/{subresource}" if subresource else resource
        for denied_verb, denied_resource in self.deny:
            if not _matches(denied_verb, verb):
                continue
            if _matches(denied_resource, full) or (
                subresource and denied_resource == f"{resource}/*"
            ):
                return False, f"denied by sandbox policy ({denied_verb} {denied_resource})"
        return True, "allowed by sandbox policy"
