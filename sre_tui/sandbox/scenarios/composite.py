"""Several scenarios as one: the cluster talks to a single Scenario."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

from ..interfaces import HealthAnswer, PodBehaviour, PodView
from .base import ScenarioBase, json_answer


class _Merged:
    """Families of the same name (e.g. kube_deployment_status_replicas_available from
    every child) become one family: an exposition must not repeat a metric name."""

    def __init__(self, children: list[ScenarioBase]) -> None:
        self._children = children

    def collect(self) -> list[Metric]:
        merged: dict[str, Metric] = {}
        for child in self._children:
            for family in child.collect():
                into = merged.get(family.name)
                if into is None:
                    into = merged[family.name] = Metric(
                        family.name, family.documentation, family.type
                    )
                into.samples.extend(family.samples)
        return list(merged.values())


class CompositeScenario:
    """Dispatches by (namespace, deployment) — a service is named after its deployment."""

    def __init__(self, children: list[ScenarioBase]) -> None:
        if not children:
            raise ValueError("a composite scenario needs at least one scenario")
        self.children = children
        self.name = "+".join(c.name for c in children)
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Merged(children))

    def _owner(self, namespace: str, deployment: str) -> ScenarioBase | None:
        return next((c for c in self.children if c.owns(namespace, deployment)), None)

    def initial_objects(self) -> list[dict[str, Any]]:
        seen: set[tuple[str, str, str]] = set()
        objects: list[dict[str, Any]] = []
        for child in self.children:
            for obj in child.initial_objects():
                meta = obj.get("metadata", {})
                key = (obj["kind"], meta.get("namespace", ""), meta["name"])
                if key not in seen:  # both scenarios bring Namespace "production"
                    seen.add(key)
                    objects.append(obj)
        return objects

    def pod_behaviour(
        self, namespace: str, deployment: str, env: dict[str, str], image: str | None = None
    ) -> PodBehaviour:
        owner = self._owner(namespace, deployment)
        if owner is None:
            return PodBehaviour()
        return owner.pod_behaviour(namespace, deployment, env, image)

    def tick(self, now: float, pods: list[PodView]) -> dict[tuple[str, str], list[str]]:
        logs: dict[tuple[str, str], list[str]] = {}
        for child in self.children:  # each child picks out its own pods
            for key, lines in child.tick(now, pods).items():
                logs.setdefault(key, []).extend(lines)
        return logs

    def health(self, namespace: str, service: str, path: str, pods: list[PodView]) -> HealthAnswer:
        owner = self._owner(namespace, service)
        if owner is None:
            return json_answer(404, status="not found", service=service)
        return owner.health(namespace, service, path, pods)

    def metrics_text(self) -> bytes:
        return generate_latest(self._registry)
