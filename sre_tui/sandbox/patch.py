"""The three patch formats the Kubernetes API accepts, applied to plain JSON-like dicts.

- JSON merge patch (RFC 7386, `application/merge-patch+json`): maps merge, null deletes,
  lists are replaced whole.
- JSON patch (RFC 6902, `application/json-patch+json`): a list of operations.
- Strategic merge patch (`application/strategic-merge-patch+json`): like merge patch, but
  lists the API declares mergeable (containers, env, ports, volumes …) are merged item by
  item on their merge key, and the `$patch`, `$retainKeys`, `$setElementOrder/<field>` and
  `$deleteFromPrimitiveList/<field>` directives that kubectl sends are honoured.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


class PatchError(ValueError):
    """The patch cannot be applied; the API answers 422 (or 400 for a malformed body)."""


MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
PATCH_TYPES = (STRATEGIC_MERGE_PATCH, MERGE_PATCH, JSON_PATCH)


def apply_patch(target: dict[str, Any], body: Any, content_type: str, kind: str) -> dict[str, Any]:
    """Apply `body` (already decoded JSON) to a copy of `target`; `target` is not changed."""
    media = content_type.split(";")[0].strip().lower()
    if media == JSON_PATCH:
        result = json_patch(target, body)
    elif media == MERGE_PATCH:
        if not isinstance(body, dict):
            raise PatchError("a merge patch must be a JSON object")
        result = json_merge_patch(target, body)
    elif media == STRATEGIC_MERGE_PATCH:
        if not isinstance(body, dict):
            raise PatchError("a strategic merge patch must be a JSON object")
        result = strategic_merge_patch(target, body, kind)
    else:
        raise PatchError(f"unsupported patch type {content_type!r}")
    if not isinstance(result, dict):
        raise PatchError("the patched object is not a JSON object")
    return result


# --- JSON merge patch -------------------------------------------------------------------


def json_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


# --- JSON patch -------------------------------------------------------------------------


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _index(container: list[Any], token: str, *, insert: bool) -> int:
    if insert and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (not insert and index == len(container)):
        raise PatchError(f"array index {index} out of bounds")
    return index


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, insert=False)]
        else:
            raise PatchError(f"path {path!r} does not exist")
    return node


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path {path!r} does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, insert=False)]
    raise PatchError(f"path {path!r} does not exist")


def _remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path {path!r} does not exist")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, insert=False))
    raise PatchError(f"path {path!r} does not exist")


def _add(doc: Any, path: str, value: Any, *, replace: bool = False) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"path {path!r} does not exist")
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last, insert=False)] = value
        else:
            parent.insert(_index(parent, last, insert=True), value)
    else:
        raise PatchError(f"path {path!r} does not exist")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation {op!r}")
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"{kind} operation needs a value")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "replace":
            doc = _add(doc, path, copy.deepcopy(op["value"]), replace=True)
        elif kind == "remove":
            _remove(doc, path)
        elif kind in ("move", "copy"):
            source = op.get("from")
            if not isinstance(source, str):
                raise PatchError(f"{kind} operation needs 'from'")
            if kind == "move" and path.startswith(source + "/"):
                raise PatchError("cannot move a value into one of its children")
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"test failed at {path!r}")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


# --- strategic merge patch --------------------------------------------------------------


@dataclass(frozen=True)
class MergeList:
    """A list merged item by item: on `key` for lists of maps, by value when `key` is None
    (primitive lists with the "merge" strategy, e.g. finalizers)."""

    key: str | None
    item: dict[str, Any] = field(default_factory=dict)


# Patch metadata for the fields we serve, as the Kubernetes OpenAPI declares it
# (x-kubernetes-patch-merge-key); every other list is replaced whole.
_META: dict[str, Any] = {"finalizers": MergeList(None), "ownerReferences": MergeList("uid")}
_CONTAINER: dict[str, Any] = {
    "env": MergeList("name"),
    "ports": MergeList("containerPort"),
    "volumeMounts": MergeList("mountPath"),
    "volumeDevices": MergeList("devicePath"),
}
_POD_SPEC: dict[str, Any] = {
    "containers": MergeList("name", _CONTAINER),
    "initContainers": MergeList("name", _CONTAINER),
    "ephemeralContainers": MergeList("name", _CONTAINER),
    "volumes": MergeList("name"),
    "imagePullSecrets": MergeList("name"),
    "hostAliases": MergeList("ip"),
}
_TEMPLATED: dict[str, Any] = {
    "metadata": _META,
    "spec": {"template": {"metadata": _META, "spec": _POD_SPEC}},
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Deployment": _TEMPLATED,
    "ReplicaSet": _TEMPLATED,
    "Pod": {
        "metadata": _META,
        "spec": _POD_SPEC,
        "status": {"conditions": MergeList("type"), "containerStatuses": MergeList("name")},
    },
    "Service": {"metadata": _META, "spec": {"ports": MergeList("port")}},
}

_DELETE = object()  # sentinel: `$patch: delete` removed the whole map
_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def strategic_merge_patch(
    target: dict[str, Any], patch: dict[str, Any], kind: str
) -> dict[str, Any]:
    result = _merge_map(target, patch, SCHEMAS.get(kind, {"metadata": _META}))
    if result is _DELETE:
        raise PatchError("$patch: delete on the whole object")
    return result  # type: ignore[no-any-return]


def _strip(value: Any) -> Any:
    """A patch value taken whole (a replaced list, a new leaf) without directives in it."""
    if isinstance(value, dict):
        return {
            k: _strip(v)
            for k, v in value.items()
            if not k.startswith(("$patch", "$retainKeys", _ORDER, _DELETE_PRIMITIVE))
        }
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: dict[str, Any]) -> Any:
    patch = dict(patch)
    directive = patch.pop("$patch", None)
    if directive == "replace":
        return _strip(patch)
    if directive == "delete":
        return _DELETE
    if directive is not None:
        raise PatchError(f"unknown $patch directive {directive!r}")
    retain = patch.pop("$retainKeys", None)
    orders: dict[str, Any] = {}
    removals: dict[str, Any] = {}
    for key in [k for k in patch if k.startswith((_ORDER, _DELETE_PRIMITIVE))]:
        if key.startswith(_ORDER):
            orders[key[len(_ORDER) :]] = patch.pop(key)
        else:
            removals[key[len(_DELETE_PRIMITIVE) :]] = patch.pop(key)

    result = copy.deepcopy(original)
    for key, value in patch.items():
        if key.startswith("$"):
            raise PatchError(f"unknown directive {key!r}")
        sub = schema.get(key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            base = result.get(key)
            merged = _merge_map(
                base if isinstance(base, dict) else {},
                value,
                sub if isinstance(sub, dict) else {},
            )
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and isinstance(sub, MergeList):
            base = result.get(key)
            result[key] = _merge_list(base if isinstance(base, list) else [], value, sub, key)
        else:
            result[key] = _strip(value)

    for key, values in removals.items():
        if isinstance(result.get(key), list):
            result[key] = [v for v in result[key] if v not in values]
    for key, order in orders.items():
        if isinstance(result.get(key), list) and isinstance(order, list):
            result[key] = _apply_order(result[key], order, schema.get(key))
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original: list[Any], patch: list[Any], spec: MergeList, name: str) -> list[Any]:
    if spec.key is None:
        merged = list(original)
        merged.extend(v for v in patch if v not in merged)
        return merged
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_strip(i) for i in patch if not (isinstance(i, dict) and i.get("$patch"))]
    result = copy.deepcopy(original)
    for item in patch:
        if not isinstance(item, dict) or spec.key not in item:
            raise PatchError(f"{name}: item {item!r} does not contain merge key {spec.key!r}")
        value = item[spec.key]
        if item.get("$patch") == "delete":
            result = [r for r in result if not (isinstance(r, dict) and r.get(spec.key) == value)]
            continue
        at = next(
            (i for i, r in enumerate(result) if isinstance(r, dict) and r.get(spec.key) == value),
            None,
        )
        merged = _merge_map(result[at] if at is not None else {}, item, spec.item)
        if merged is _DELETE:
            if at is not None:
                del result[at]
        elif at is not None:
            result[at] = merged
        else:
            result.append(merged)
    return result


def _apply_order(items: list[Any], order: list[Any], spec: Any) -> list[Any]:
    """Put `items` in the order of a `$setElementOrder` list. Items the client did not know
    about (only on the server) keep their relative order after the ordered ones."""
    key = spec.key if isinstance(spec, MergeList) else None

    def ident(v: Any) -> Any:
        return v.get(key) if key and isinstance(v, dict) else v

    wanted = [ident(o) for o in order]
    rank = {repr(w): i for i, w in enumerate(wanted)}
    ordered = sorted(
        (v for v in items if repr(ident(v)) in rank), key=lambda v: rank[repr(ident(v))]
    )
    return ordered + [v for v in items if repr(ident(v)) not in rank]
