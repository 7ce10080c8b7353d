"""Patch formats, selectors and the access policy, without a server."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sre_tui.sandbox.cluster import (
    ApiError,
    fmt_nano,
    parse_field_selector,
    parse_label_selector,
    parse_time,
)
from sre_tui.sandbox.patch import (
    PatchError,
    json_merge_patch,
    json_patch,
    strategic_merge_patch,
)
from sre_tui.sandbox.policy import AccessPolicy


def deployment(env: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "finalizers": ["a"]},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "image": "web:1", "env": env},
                        {"name": "sidecar", "image": "proxy:1"},
                    ]
                }
            }
        },
    }


def env_of(obj: dict[str, Any], container: int = 0) -> list[dict[str, str]]:
    return obj["spec"]["template"]["spec"]["containers"][container].get("env", [])


def test_strategic_merge_merges_containers_and_env_by_name() -> None:
    before = deployment([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    body = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
                        }
                    ]
                }
            }
        }
    }
    after = strategic_merge_patch(before, body, "Deployment")
    assert env_of(after) == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "20"},
        {"name": "C", "value": "3"},
    ]
    assert after["spec"]["template"]["spec"]["containers"][1]["name"] == "sidecar"
    assert env_of(before)[1]["value"] == "2", "the original is not modified"


def test_strategic_merge_honours_kubectl_directives() -> None:
    before = deployment([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    # What `kubectl set env deploy/web C=3 A-` sends, reordered by $setElementOrder.
    body = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                    "containers": [
                        {
                            "name": "web",
                            "$setElementOrder/env": [{"name": "C"}, {"name": "B"}],
                            "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "A"}],
                        }
                    ],
                }
            }
        },
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
    }
    after = strategic_merge_patch(before, body, "Deployment")
    assert env_of(after) == [{"name": "C", "value": "3"}, {"name": "B", "value": "2"}]
    assert after["metadata"]["finalizers"] == []
    assert "$setElementOrder/env" not in after["spec"]["template"]["spec"]["containers"][0]


def test_strategic_merge_replace_delete_retain_and_null() -> None:
    before = {
        "spec": {
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "a": {"x": 1},
            "b": 2,
        }
    }
    body = {
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "a": {"$patch": "delete"},
            "b": None,
        }
    }
    assert strategic_merge_patch(before, body, "Deployment") == {
        "spec": {"strategy": {"type": "Recreate"}}
    }
    replaced = strategic_merge_patch(before, {"spec": {"$patch": "replace", "b": 3}}, "Deployment")
    assert replaced == {"spec": {"b": 3}}
    with pytest.raises(PatchError, match="merge key"):
        strategic_merge_patch(
            deployment([]),
            {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
            "Deployment",
        )


def test_unknown_lists_are_replaced_and_merge_patch_replaces_lists() -> None:
    before = {"spec": {"args": ["a", "b"]}, "keep": 1}
    assert strategic_merge_patch(before, {"spec": {"args": ["c"]}}, "Thing")["spec"] == {
        "args": ["c"]
    }
    merged = json_merge_patch(
        deployment([{"name": "A", "value": "1"}]),
        {"spec": {"template": {"spec": {"containers": [{"name": "x"}]}}}},
    )
    assert merged["spec"]["template"]["spec"]["containers"] == [{"name": "x"}]
    assert json_merge_patch(before, {"keep": None, "new": {"a": 1}}) == {
        "spec": {"args": ["a", "b"]},
        "new": {"a": 1},
    }


def test_json_patch_operations_and_errors() -> None:
    doc = {"a": {"b": [1, 2]}, "c~d/e": 1}
    out = json_patch(
        doc,
        [
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "add", "path": "/a/b/0", "value": 0},
            {"op": "replace", "path": "/c~0d~1e", "value": 2},
            {"op": "copy", "from": "/a/b", "path": "/copy"},
            {"op": "move", "from": "/copy", "path": "/moved"},
            {"op": "remove", "path": "/a/b/1"},
            {"op": "test", "path": "/moved/3", "value": 3},
        ],
    )
    assert out == {"a": {"b": [0, 2, 3]}, "c~d/e": 2, "moved": [0, 1, 2, 3]}
    for bad in (
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "remove", "path": "/a/b/9"}],
        [{"op": "test", "path": "/a/b/0", "value": 9}],
        [{"op": "frobnicate", "path": "/a"}],
        {"op": "add"},
    ):
        with pytest.raises(PatchError):
            json_patch(doc, bad)


def test_label_and_field_selectors() -> None:
    labels = {"app": "web", "tier": "front"}
    for selector, expected in (
        ("app=web", True),
        ("app==web,tier", True),
        ("app!=web", False),
        ("!tier", False),
        ("app in (api, web)", True),
        ("tier notin (front)", False),
        ("missing", False),
        ("", True),
    ):
        assert parse_label_selector(selector)(labels) is expected, selector
    with pytest.raises(ApiError):
        parse_label_selector("app in web")
    pod = {"metadata": {"name": "p1"}, "status": {"phase": "Running"}}
    assert parse_field_selector("metadata.name=p1,status.phase!=Pending")(pod)
    assert not parse_field_selector("metadata.name=p2")(pod)


def test_time_formats_round_trip() -> None:
    stamp = fmt_nano(1_700_000_000.123456789)
    assert re.fullmatch(r"2023-11-14T22:13:20\.1234\d{5}Z", stamp)
    assert abs(parse_time(stamp) - 1_700_000_000.123456) < 1e-5
    assert parse_time("2023-11-14T23:13:20+01:00") == 1_700_000_000


def test_access_policy() -> None:
    open_policy = AccessPolicy()
    assert open_policy.allows("patch", "deployments", "production") == (
        True,
        "allowed by sandbox policy",
    )
    read_only = AccessPolicy(read_only=True)
    assert read_only.allows("get", "pods", "production")[0]
    allowed, reason = read_only.allows("delete", "pods", "production")
    assert not allowed and "read-only" in reason
    deny = AccessPolicy(deny=(("patch", "deployments"), ("*", "configmaps"), ("get", "pods/*")))
    assert not deny.allows("patch", "deployments", "production")[0]
    assert deny.allows("patch", "deployments", "production", "scale")[0], "RBAC: subresource apart"
    assert not deny.allows("list", "configmaps", None)[0]
    assert not deny.allows("get", "pods", "production", "log")[0]
    assert deny.allows("get", "pods", "production")[0]
