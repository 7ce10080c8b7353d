"""The Kubernetes performer: env, scale, restart, rollback and ConfigMap actions.

Each plan reads the live object, sends the exact patch as a server-side dry-run and asks
the server (SelfSubjectAccessReview) whether we may send it for real. Applying re-reads the
object first and refuses when it changed since the dialog opened; the patch then carries
the resourceVersion it was checked against, so a change in between is a 409, not a
silent overwrite. Blocking: call from worker threads.
"""

from __future__ import annotations

import copy
import json
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sre_tui.backends.kube import KubeBackend, KubeError
from sre_tui.core.actions import (
    ROLLOUT_KINDS,
    Access,
    ActionError,
    DryRun,
    Outcome,
    Plan,
    show_value,
)
from sre_tui.core.incident import EnvInfo
from sre_tui.core.rollout import (
    RESTARTED_AT,
    RolloutStatus,
    containers_of,
    current_pods,
    current_revision,
    env_entry,
    env_summary,
    env_value,
    find_container,
    images_of,
    owned_by,
    pod_template,
    revision_label,
    rollback_target,
    rollout_progress,
    selector_string,
    template_fingerprint,
    template_key,
)
from sre_tui.core.runbook import ValueSpec, check_value

DRY_RUN_OK = "accepted by the server (dry-run)"
RESTART_NOTE = "a restart cannot be undone: the old pods are replaced"
ATTEMPTS = 5  # checks of the live value before giving up on an object that keeps moving


@dataclass
class _Draft:
    """What a kind-specific builder found; `finish` turns it into a Plan."""

    name: str  # the object's name
    target: str
    subject: str
    before: str | None
    after: str | None
    state: dict[str, Any]  # resource, patch_type, patch, namespace + kind-specific
    review: dict[str, str]  # verb, group, resource, subresource
    revertible: bool = True
    revert_note: str = ""
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Live:
    value: str | None
    rv: str
    fingerprint: str = ""  # rollback: the deployment's template, to notice any change


class KubePerformer:
    def __init__(self, kube: KubeBackend, env: EnvInfo) -> None:
        self.kube = kube
        self.env = env

    # --- the Performer protocol ----------------------------------------------------------

    def prepare(self, action: Any, value: str | None = None) -> Plan:
        kind = action.kind
        ns = self._namespace(action.namespace)
        if kind == "env":
            after = value if value is not None else action.to_value
            self._check(f"{action.variable}", after, action.value)
            draft = self._env(action.deployment, ns, action.container, action.variable, after)
        elif kind == "scale":
            raw = value if value is not None else str(action.replicas)
            try:
                replicas = int(str(raw).strip())
            except ValueError:
                raise ActionError(f"replicas {raw!r} is not a whole number") from None
            if not action.min_replicas <= replicas <= action.max_replicas:
                raise ActionError(
                    f"replicas {replicas} is outside the allowed "
                    f"{action.min_replicas}..{action.max_replicas}"
                )
            draft = self._scale(action.deployment, ns, replicas)
        elif kind == "configmap":
            after = value if value is not None else action.to_value
            self._check(f"{action.configmap} {action.key}", after, action.value)
            draft = self._configmap(action.configmap, ns, action.key, after)
        elif kind == "restart":
            draft = self._restart(action.deployment, ns)
        elif kind == "rollback":
            draft = self._rollback(action.deployment, ns, action.to_revision)
        else:
            raise ActionError(f"the Kubernetes performer cannot run {kind!r} actions")
        return self._finish(draft, kind=kind, action_id=action.id, title=action.title)

    def apply(self, plan: Plan) -> Outcome:
        state = plan.state
        patch = state["patch"]
        expected = plan.after
        if plan.kind == "restart":
            expected = _now()  # "now" is when it is applied, as kubectl does it
            patch = _restart_patch(expected)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                live = self._read(plan.kind, state)
            except KubeError as err:
                return Outcome(False, f"could not read {plan.target} before applying: {err}")
            if self._changed(plan, live):
                return self._conflict(plan, live)
            try:
                self._send(state, patch, live.rv, dry_run=False)
                break
            except KubeError as err:
                # 409: the object moved after the check (a controller's status write moves
                # it too); check the value again rather than overwrite blindly.
                if err.status == 409 and attempt < ATTEMPTS:
                    continue
                return Outcome(False, f"the server refused it: {err}; nothing was applied")
        try:
            back = self._read(plan.kind, state)
        except KubeError as err:
            return Outcome(
                False,
                f"sent, but the result could not be read back: {err}",
                follow_rollout=self._follow(plan),
            )
        if plan.kind == "rollback":
            ok = back.fingerprint == state["target_fingerprint"]
            after = plan.after if ok else back.value
        else:
            ok = back.value == expected
            after = back.value
        return Outcome(
            ok=ok,
            message=self._message(plan, after, expected, ok),
            after=after,
            revert_state=self._revert_state(plan, live),
            follow_rollout=self._follow(plan),
        )

    def prepare_revert(self, plan: Plan, outcome: Outcome) -> Plan:
        state = plan.state
        ns = state["namespace"]
        kind = plan.kind
        if kind == "restart":
            raise ActionError("a restart cannot be undone")
        if kind == "env":
            draft = self._env(
                state["deployment"],
                ns,
                state["container"],
                state["variable"],
                plan.before,
                restore=state.get("entry_before"),
            )
        elif kind == "scale":
            if plan.before is None:
                raise ActionError("the replica count before the change is not known")
            draft = self._scale(state["deployment"], ns, int(plan.before))
        elif kind == "configmap":
            draft = self._configmap(state["configmap"], ns, state["key"], plan.before)
        elif kind == "rollback":
            revision = outcome.revert_state.get("revision") or state.get("current_revision")
            if not revision:
                raise ActionError("the revision this rollback replaced is not recorded")
            draft = self._rollback(state["deployment"], ns, int(revision))
        else:
            raise ActionError(f"the Kubernetes performer cannot revert {kind!r} actions")
        return self._finish(draft, kind=kind, action_id=plan.action_id, title=f"Undo {plan.title}")

    # --- rollouts ---------------------------------------------------------------------------

    def rollout_status(self, deployment: str, namespace: str | None = None) -> RolloutStatus:
        """The rollout of `deployment` now: its status and the waiting reasons of the
        pods of its current template (old pods are going away and do not count)."""
        ns = self._namespace(namespace)
        try:
            obj = self.kube.get_deployment(deployment, ns)
            spec = obj.get("spec")
            selector = selector_string(spec.get("selector") if isinstance(spec, dict) else None)
            replicasets = owned_by(self.kube.list_replicasets(selector, ns), obj)
            pods, _ = self.kube.list_pods(selector, namespace=ns)
        except KubeError as err:
            raise ActionError(
                f"cannot read the rollout of deployment/{deployment}: {err}"
            ) from None
        return rollout_progress(obj, current_pods(obj, replicasets, pods))

    # --- builders, one per kind ---------------------------------------------------------------

    def _env(
        self,
        deployment: str,
        ns: str,
        container: str | None,
        variable: str,
        value: str | None,
        *,
        restore: dict[str, Any] | None = None,
    ) -> _Draft:
        obj = self._deployment(deployment, ns)
        found = find_container(obj, container)
        if found is None:
            names = ", ".join(str(c.get("name")) for c in containers_of(pod_template(obj)))
            wanted = f"container {container!r}" if container else "containers"
            raise ActionError(f"deployment/{deployment} has no {wanted} (it has: {names or '-'})")
        cname = str(found["name"])
        current = env_entry(found, variable)
        if restore is not None and env_value(restore) == value:
            entry: dict[str, Any] = copy.deepcopy(restore)  # back to a reference, as it was
            if "valueFrom" in entry:
                entry["value"] = None
        elif value is None:
            entry = {"name": variable, "$patch": "delete"}
        else:
            entry = {"name": variable, "value": value}
            if current is not None and current.get("valueFrom") is not None:
                entry["valueFrom"] = None  # a literal replaces the reference
        patch = {"spec": {"template": {"spec": {"containers": [{"name": cname, "env": [entry]}]}}}}
        setting = f"{variable}-" if value is None else f"{variable}={value}"
        return _Draft(
            name=deployment,
            target=f"deployment/{deployment} container {cname}",
            subject=f"env {variable}",
            before=env_value(current),
            after=value,
            state={
                "resource": "deployments",
                "patch_type": "strategic",
                "patch": patch,
                "namespace": ns,
                "deployment": deployment,
                "container": cname,
                "variable": variable,
                "entry_before": copy.deepcopy(current),
            },
            review={"verb": "patch", "group": "apps", "resource": "deployments"},
            revert_note=(
                f"sets {variable} back to its value before"
                if current is not None
                else f"removes {variable} again (it was unset)"
            ),
            details=[
                self._kubectl(ns, f"set env deployment/{deployment} -c {cname}", setting),
                _http("PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/{deployment}"),
            ],
        )

    def _scale(self, deployment: str, ns: str, replicas: int) -> _Draft:
        obj = self._deployment(deployment, ns)
        current = (obj.get("spec") or {}).get("replicas")
        return _Draft(
            name=deployment,
            target=f"deployment/{deployment}",
            subject="replicas",
            before=None if current is None else str(current),
            after=str(replicas),
            state={
                "resource": "deployments/scale",
                "patch_type": "merge",
                "patch": {"spec": {"replicas": replicas}},
                "namespace": ns,
                "deployment": deployment,
                "replicas": replicas,
            },
            review={
                "verb": "patch",
                "group": "apps",
                "resource": "deployments",
                "subresource": "scale",
            },
            revert_note=f"scales back to {current} replicas",
            details=[
                self._kubectl(ns, f"scale deployment/{deployment}", f"--replicas={replicas}"),
                _http("PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/{deployment}/scale"),
            ],
        )

    def _configmap(self, name: str, ns: str, key: str, value: str | None) -> _Draft:
        obj = self._read_or_fail(lambda: self.kube.get_configmap(name, ns), f"configmap/{name}", ns)
        current = (obj.get("data") or {}).get(key)
        patch = {"data": {key: value}}
        return _Draft(
            name=name,
            target=f"configmap/{name}",
            subject=f"configmap key {key}",
            before=current,
            after=value,
            state={
                "resource": "configmaps",
                "patch_type": "merge",
                "patch": patch,
                "namespace": ns,
                "configmap": name,
                "key": key,
            },
            review={"verb": "patch", "group": "", "resource": "configmaps"},
            revert_note=(
                f"sets {key} back to its value before"
                if current is not None
                else f"removes {key} again (it was unset)"
            ),
            details=[
                self._kubectl(
                    ns, f"patch configmap/{name} --type merge -p", json.dumps(patch, sort_keys=True)
                ),
                _http("PATCH", f"/api/v1/namespaces/{ns}/configmaps/{name}"),
                "pods read the new value only if they watch the ConfigMap or restart",
            ],
        )

    def _restart(self, deployment: str, ns: str) -> _Draft:
        obj = self._deployment(deployment, ns)
        annotations = (pod_template(obj).get("metadata") or {}).get("annotations") or {}
        return _Draft(
            name=deployment,
            target=f"deployment/{deployment}",
            subject="restart",
            before=annotations.get(RESTARTED_AT),
            after="now",
            state={
                "resource": "deployments",
                "patch_type": "strategic",
                "patch": _restart_patch(_now()),
                "namespace": ns,
                "deployment": deployment,
            },
            review={"verb": "patch", "group": "apps", "resource": "deployments"},
            revertible=False,
            revert_note=RESTART_NOTE,
            details=[
                self._kubectl(ns, "rollout restart", f"deployment/{deployment}"),
                f"sets the pod template annotation {RESTARTED_AT}: every pod is replaced",
            ],
        )

    def _rollback(self, deployment: str, ns: str, to_revision: int | None) -> _Draft:
        obj = self._deployment(deployment, ns)
        replicasets = self._replicasets(obj, ns)
        target = rollback_target(obj, replicasets, to_revision)
        live_template = template_key(pod_template(obj))
        if live_template == target.template:
            raise ActionError(
                f"deployment/{deployment} already runs the template of revision {target.revision}"
            )
        before = revision_label(target.current, live_template)
        after = revision_label(target.revision, target.template)
        return _Draft(
            name=deployment,
            target=f"deployment/{deployment}",
            subject="revision",
            before=before,
            after=after,
            state={
                "resource": "deployments",
                "patch_type": "json",
                "patch": [{"op": "replace", "path": "/spec/template", "value": target.template}],
                "namespace": ns,
                "deployment": deployment,
                "current_revision": target.current,
                "target_revision": target.revision,
                "target_replicaset": target.replicaset,
                "before_fingerprint": template_fingerprint(live_template),
                "target_fingerprint": template_fingerprint(target.template),
            },
            review={"verb": "patch", "group": "apps", "resource": "deployments"},
            revert_note=f"rolls back again to revision {target.current}",
            details=[
                f"returns to revision {target.revision}: image {images_of(target.template)}; "
                f"env {env_summary(target.template)}",
                f"replaces revision {target.current}: image {images_of(live_template)}; "
                f"env {env_summary(live_template)}",
                self._kubectl(
                    ns, f"rollout undo deployment/{deployment}", f"--to-revision={target.revision}"
                ),
            ],
        )

    # --- plan, dry-run, access review -------------------------------------------------------

    def _finish(self, draft: _Draft, *, kind: str, action_id: str, title: str) -> Plan:
        state = draft.state
        return Plan(
            action_id=action_id,
            kind=kind,
            title=title,
            environment=self.env.name,
            context=self.env.context or self.kube.context,
            namespace=state["namespace"],
            production=self.env.production,
            target=draft.target,
            confirm_name=draft.name,
            subject=draft.subject,
            before=draft.before,
            after=draft.after,
            dry_run=self._dry_run(state),
            access=self._access(draft.review, draft.name, state["namespace"]),
            revertible=draft.revertible,
            revert_note=draft.revert_note,
            details=tuple(draft.details),
            state=state,
        )

    def _dry_run(self, state: dict[str, Any]) -> DryRun:
        try:
            self._send(state, state["patch"], "", dry_run=True)
        except KubeError as err:
            if err.status == 0:
                return DryRun(True, None, f"could not ask: {err}")
            return DryRun(True, False, str(err))
        return DryRun(True, True, DRY_RUN_OK)

    def _access(self, review: dict[str, str], name: str, ns: str) -> Access:
        try:
            allowed, reason = self.kube.review_access(
                review["verb"],
                review["resource"],
                group=review.get("group", ""),
                subresource=review.get("subresource", ""),
                name=name,
                namespace=ns,
            )
        except KubeError as err:
            return Access(None, f"could not ask: {err}")
        return Access(allowed, reason)

    def _send(self, state: dict[str, Any], patch: Any, rv: str, *, dry_run: bool) -> None:
        """Send `patch`, with `rv` as a precondition when given: a changed object answers
        409 instead of being overwritten."""
        body: Any
        if not rv:
            body = patch
        elif state["patch_type"] == "json":
            body = [{"op": "replace", "path": "/metadata/resourceVersion", "value": rv}, *patch]
        else:
            body = {**patch, "metadata": {**patch.get("metadata", {}), "resourceVersion": rv}}
        name = state.get("configmap") or state["deployment"]
        self.kube.patch(
            state["resource"],
            name,
            body,
            patch_type=state["patch_type"],
            namespace=state["namespace"],
            dry_run=dry_run,
        )

    # --- reading the live value ---------------------------------------------------------------

    def _read(self, kind: str, state: dict[str, Any]) -> _Live:
        ns = state["namespace"]
        if kind == "configmap":
            obj = self.kube.get_configmap(state["configmap"], ns)
            return _Live((obj.get("data") or {}).get(state["key"]), _rv(obj))
        obj = self.kube.get_deployment(state["deployment"], ns)
        if kind == "env":
            container = find_container(obj, state["container"])
            entry = env_entry(container, state["variable"]) if container else None
            return _Live(env_value(entry), _rv(obj))
        if kind == "scale":
            replicas = (obj.get("spec") or {}).get("replicas")
            return _Live(None if replicas is None else str(replicas), _rv(obj))
        if kind == "restart":
            annotations = (pod_template(obj).get("metadata") or {}).get("annotations") or {}
            return _Live(annotations.get(RESTARTED_AT), _rv(obj))
        if kind == "rollback":
            template = template_key(pod_template(obj))
            revision = current_revision(obj, self._replicasets(obj, ns, strict=True))
            return _Live(
                revision_label(revision, template), _rv(obj), template_fingerprint(template)
            )
        raise ActionError(f"the Kubernetes performer cannot read {kind!r} actions")

    def _changed(self, plan: Plan, live: _Live) -> bool:
        if plan.kind == "rollback":
            return live.fingerprint != plan.state["before_fingerprint"]
        return live.value != plan.before

    def _conflict(self, plan: Plan, live: _Live) -> Outcome:
        now = show_value(live.value)
        return Outcome(
            ok=False,
            message=(
                f"{plan.target} {plan.subject} changed since the dialog opened: now {now}; "
                "nothing was applied"
            ),
            conflict=True,
            current=live.value,
        )

    def _deployment(self, name: str, ns: str) -> dict[str, Any]:
        return self._read_or_fail(
            lambda: self.kube.get_deployment(name, ns), f"deployment/{name}", ns
        )

    def _replicasets(
        self, deployment: dict[str, Any], ns: str, *, strict: bool = False
    ) -> list[dict[str, Any]]:
        selector = selector_string((deployment.get("spec") or {}).get("selector"))
        if strict:
            return owned_by(self.kube.list_replicasets(selector, ns), deployment)
        name = deployment["metadata"]["name"]
        found = self._read_or_fail(
            lambda: self.kube.list_replicasets(selector, ns), f"the ReplicaSets of {name}", ns
        )
        return owned_by(found, deployment)

    @staticmethod
    def _read_or_fail(read: Any, what: str, ns: str) -> Any:
        try:
            return read()
        except KubeError as err:
            raise ActionError(f"cannot read {what} in namespace {ns}: {err}") from None

    # --- small pieces ----------------------------------------------------------------------------

    def _namespace(self, explicit: str | None) -> str:
        return explicit or self.env.namespace or self.kube.namespace

    @staticmethod
    def _check(what: str, value: str, spec: ValueSpec) -> None:
        if problem := check_value(value, spec):
            raise ActionError(f"{what}: {problem}")

    def _kubectl(self, ns: str, verb: str, argument: str) -> str:
        context = self.env.context or self.kube.context
        where = f"--context {shlex.quote(context)} " if context else ""
        return f"kubectl {where}-n {ns} {verb} {shlex.quote(argument)}"

    @staticmethod
    def _follow(plan: Plan) -> str | None:
        return plan.state.get("deployment") if plan.kind in ROLLOUT_KINDS else None

    @staticmethod
    def _revert_state(plan: Plan, live: _Live) -> dict[str, Any]:
        state = plan.state
        if plan.kind == "rollback":
            return {
                "revision": state["current_revision"],
                "replaced": live.value,
                "replaced_fingerprint": live.fingerprint,
            }
        if plan.kind == "restart":
            return {}
        return {"value": plan.before}

    @staticmethod
    def _message(plan: Plan, after: str | None, expected: str | None, ok: bool) -> str:
        state = plan.state
        if plan.kind == "rollback":
            if ok:
                return f"{plan.target} now runs the template of {plan.after}; pods are replaced"
            return f"rolled back, but {plan.target} now has {after} instead of {plan.after}"
        if plan.kind == "restart":
            if ok:
                return f"restart of {plan.target} requested at {after}; pods are replaced"
            return f"restart sent, but {RESTARTED_AT} reads {show_value(after)}"
        label = {
            "env": state.get("variable"),
            "scale": "replicas",
            "configmap": f"{state.get('configmap')}[{state.get('key')}]",
        }.get(plan.kind, plan.subject)
        if ok:
            if after is None:
                return f"server no longer has {label} (unset)"
            return f"server now has {label}={after}"
        return (
            f"applied, but the server now has {label}={show_value(after)} "
            f"instead of {show_value(expected)}"
        )


def _rv(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _restart_patch(when: str) -> dict[str, Any]:
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: when}}}}}


def _http(method: str, path: str) -> str:
    return f"{method} {path} (sent first with dryRun=All)"


__all__ = ["KubePerformer", "RolloutStatus"]
