"""docker-compose.yml against the Compose Specification, and the promises it makes.

No Docker is needed: the file is checked against the JSON schema that Docker Compose itself
validates with (vendored in deploy/docker/compose-spec.json, see its ``$comment``), plus the
cross-references Compose checks after the schema (services, volumes) and the structure we
promise (health checks, start order, small-box flags). A missing validator is an import error,
so this module fails rather than skips.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from core.service_settings import FeatureWorkerSettings
from core.settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = ROOT / "deploy" / "docker" / "compose-spec.json"
STORES = ("kafka", "scylla", "redis")
APPS = ("worker", "features-worker", "api")


def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    # The schema says draft-07 in a spelling that jsonschema does not map by itself: name it.
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _schema_errors(document: Any) -> list[str]:
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


def _words(value: str | list[str]) -> list[str]:
    return value.split() if isinstance(value, str) else [str(part) for part in value]


DEFAULTED_VARIABLE = re.compile(r"\$\{[A-Z_][A-Z0-9_]*:-([^}$]*)\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # Compose's interpolation, for the one form the file uses: ${NAME:-default}, unset here.
    text = DEFAULTED_VARIABLE.sub(r"\1", COMPOSE_FILE.read_text())
    assert "$" not in text, "docker-compose.yml uses interpolation other than ${NAME:-default}"
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def test_the_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    assert _schema_errors(compose) == []


def test_the_validator_rejects_what_compose_rejects() -> None:
    # Guards against a vacuous check (an empty or permissive schema would pass anything).
    bad = {
        "services": {
            "a": {"image": "x", "restart": "sometimes", "colour": "blue"},
            "b": {"image": "x", "depends_on": {"a": {"condition": "service_ready"}}},
        }
    }
    errors = "\n".join(_schema_errors(bad))
    assert "colour" in errors
    assert "services.b.depends_on" in errors


def test_references_point_at_defined_services_and_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared_volumes = set(compose.get("volumes") or {})
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on undefined service {dependency}"
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source")
            if source and not source.startswith((".", "/", "~")):
                assert source in declared_volumes, f"{name} uses undeclared volume {source}"


def test_every_long_running_service_has_a_health_check(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == {*STORES, "schema", *APPS}
    for name, service in services.items():
        if name == "schema":
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no health check"
        assert not service["healthcheck"].get("disable", False), name


@pytest.mark.parametrize("app", APPS)
def test_apps_start_after_healthy_stores_and_the_schema(
    services: dict[str, dict[str, Any]], app: str
) -> None:
    depends_on = services[app]["depends_on"]
    assert isinstance(depends_on, dict), "the long form is needed to carry conditions"
    for store in STORES:
        assert depends_on[store]["condition"] == "service_healthy", (app, store)
    assert depends_on["schema"]["condition"] == "service_completed_successfully"
    assert services[app]["restart"] in {"unless-stopped", "always", "on-failure"}


def test_apps_reach_the_stores_by_service_name(services: dict[str, dict[str, Any]]) -> None:
    for name in (*APPS, "schema"):
        env = services[name]["environment"]
        assert env["INTERSTORE_CASSANDRA_CONTACT_POINTS"] == "scylla", name
        assert env["INTERSTORE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name
        assert env["INTERSTORE_REDIS_URL"].startswith("redis://redis:6379"), name
    assert _words(services["schema"]["command"]) == ["schema", "apply"]
    assert services["schema"]["depends_on"]["scylla"]["condition"] == "service_healthy"


def test_scylla_is_sized_for_a_small_box(services: dict[str, dict[str, Any]]) -> None:
    args = " ".join(_words(services["scylla"]["command"]))
    assert "--smp 1" in args
    assert "--overprovisioned" in args
    assert "--memory" in args


def test_redis_refuses_writes_rather_than_evicting(services: dict[str, dict[str, Any]]) -> None:
    args = _words(services["redis"]["command"])
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert "127.0.0.1:6390:6379" in services["redis"]["ports"]


def test_kafka_is_one_kraft_node(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    env = kafka["environment"]
    assert kafka["image"] == "apache/kafka:4.1.1"
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "INTERNAL://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "127.0.0.1:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
    ):
        assert env[key] == "1", key
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert any(port.endswith(":9092:19092") for port in kafka["ports"])


def test_the_api_runs_in_development_mode_unless_given_keys(
    services: dict[str, dict[str, Any]],
) -> None:
    environment = services["api"]["environment"]
    assert environment["INTERSTORE_API_KEYS"] == ""
    assert environment["INTERSTORE_API_DEV_MODE"] == "true"
    assert environment["INTERSTORE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"  # merged, not lost


@pytest.mark.parametrize(
    ("app", "grace_s"),
    [("worker", WorkerSettings().stop_grace_s),
     ("features-worker", FeatureWorkerSettings().stop_grace_s)],
)  # fmt: skip
def test_workers_give_up_a_hung_stop_before_compose_kills_them(
    services: dict[str, dict[str, Any]], app: str, grace_s: float
) -> None:
    # Compose's own default (10 s) would SIGKILL a worker before its grace ran out: no stacks.
    period = services[app]["stop_grace_period"]
    assert period.endswith("s")
    assert float(period[:-1]) > grace_s
