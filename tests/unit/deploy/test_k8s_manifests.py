"""deploy/k8s against the Kubernetes API's own schemas, offline, and the promises it makes.

``kubernetes-validate`` bundles the OpenAPI-derived JSON schemas of each Kubernetes release
(strict: unknown fields are errors), so no cluster and no network is needed. After the schemas,
the cross-references a cluster would only find at run time: names the pods refer to, probes,
the HPA's target, and every environment variable being a setting (``test_k8s_settings.py``).
A missing validator is an import error, so this module fails rather than skips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"
"""The oldest Kubernetes the manifests promise to fit (autoscaling/v2 and policy/v1 are GA)."""


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> dict[str, Any]:
    found = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert isinstance(found, dict)
    return found


def base() -> list[dict[str, Any]]:
    """Every object of the kustomize base, in the order of its resources."""
    return [doc for name in kustomization()["resources"] for doc in documents(K8S / name)]


def examples() -> list[dict[str, Any]]:
    return [doc for path in sorted((K8S / "examples").glob("*.yaml")) for doc in documents(path)]


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in base() + examples() if doc["kind"] == kind}


def schema_errors(doc: dict[str, Any]) -> str | None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}: {exc.message}"
    return None


def pod_specs() -> dict[str, dict[str, Any]]:
    """The pod template of each Deployment and Job, by its owner's name."""
    owners = {**by_kind("Deployment"), **by_kind("Job")}
    return {name: doc["spec"]["template"]["spec"] for name, doc in owners.items()}


def test_the_base_lists_every_manifest_of_the_folder() -> None:
    listed = set(kustomization()["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


@pytest.mark.parametrize(
    "doc", base() + examples(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}"
)
def test_each_object_follows_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    assert schema_errors(doc) is None


def test_the_validator_rejects_what_the_api_server_rejects() -> None:
    # Guards against a vacuous check: a wrong type, unknown fields, a missing required one.
    deployment = by_kind("Deployment")["interstore-api"]
    spec = deployment["spec"]
    wrong_type = {**deployment, "spec": {**spec, "replicas": "two"}}
    assert "'two' is not of type 'integer'" in (schema_errors(wrong_type) or "")
    assert schema_errors({**deployment, "colour": "blue"}) is not None
    pod = spec["template"]["spec"]
    typo = {**pod, "containers": [{**pod["containers"][0], "livenesProbe": {}}]}
    nested = {**deployment, "spec": {**spec, "template": {**spec["template"], "spec": typo}}}
    assert schema_errors(nested) is not None
    no_selector = {k: v for k, v in spec.items() if k != "selector"}
    assert schema_errors({**deployment, "spec": no_selector}) is not None


def test_pods_refer_only_to_defined_config_and_secrets() -> None:
    config_maps, secrets = set(by_kind("ConfigMap")), by_kind("Secret")
    for owner, spec in pod_specs().items():
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert container["image"] == "interstore", owner  # kustomize's images: sets it
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, owner
            for variable in container.get("env", []):
                ref = variable["valueFrom"]["secretKeyRef"]
                assert ref["key"] in secrets[ref["name"]]["stringData"], owner


def test_long_running_pods_probe_liveness_and_readiness_on_their_own_port() -> None:
    config = by_kind("ConfigMap")["interstore-config"]["data"]
    expected = {
        "interstore-worker": config["INTERSTORE_WORKER_WEB_PORT"],
        "interstore-features-worker": config["INTERSTORE_FEATURES_WORKER_WEB_PORT"],
        "interstore-api": config["INTERSTORE_API_PORT"],
    }
    for name, doc in by_kind("Deployment").items():
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        ports = {port["name"]: str(port["containerPort"]) for port in container["ports"]}
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        for probe in ("livenessProbe", "readinessProbe"):
            assert ports[container[probe]["httpGet"]["port"]] == expected[name], (name, probe)
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items(), name


def test_workers_are_sized_by_partitions() -> None:
    partitions = int(
        by_kind("ConfigMap")["interstore-config"]["data"]["INTERSTORE_TOPICS_PARTITIONS"]
    )
    for name in ("interstore-worker", "interstore-features-worker"):
        replicas = by_kind("Deployment")[name]["spec"]["replicas"]
        assert 1 <= replicas <= partitions, name  # more pods than partitions would idle
    assert partitions % by_kind("Deployment")["interstore-worker"]["spec"]["replicas"] == 0


def test_the_api_is_served_and_autoscaled() -> None:
    api = by_kind("Deployment")["interstore-api"]
    labels = api["spec"]["template"]["metadata"]["labels"]
    service = by_kind("Service")["interstore-api"]
    assert service["spec"]["selector"].items() <= labels.items()
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert service["spec"]["ports"][0]["targetPort"] in {p["name"] for p in container["ports"]}
    hpa = by_kind("HorizontalPodAutoscaler")["interstore-api"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "interstore-api",
    }  # fmt: skip
    assert container["resources"]["requests"]["cpu"]  # an HPA on CPU needs a request
    assert hpa["spec"]["minReplicas"] >= 2


def test_the_schema_job_creates_topics_then_the_schema() -> None:
    spec = pod_specs()["interstore-schema"]
    assert [c["args"] for c in spec["initContainers"]] == [["topics", "create"]]
    assert [c["args"] for c in spec["containers"]] == [["schema", "apply"]]
    assert spec["restartPolicy"] == "OnFailure"
