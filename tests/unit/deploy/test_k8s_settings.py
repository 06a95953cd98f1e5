"""Every environment variable deploy/k8s sets is a setting of ``core.settings.Settings`` (one
definition of each fact: a misspelt name would be silently ignored by pydantic-settings), and
the values parse into valid settings."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_settings import BaseSettings

from core.settings import Settings
from tests.unit.deploy.test_k8s_manifests import by_kind, pod_specs


def setting_names() -> set[str]:
    """``INTERSTORE_<COMPONENT>_<FIELD>`` of every component of ``Settings``."""
    names = set()
    for field in Settings.model_fields.values():
        component = field.annotation
        assert isinstance(component, type)
        assert issubclass(component, BaseSettings)
        prefix = str(component.model_config.get("env_prefix", ""))
        names |= {f"{prefix}{name}".upper() for name in component.model_fields}
    return names


def environment() -> dict[str, str]:
    """What a pod of the base sees: the ConfigMap, and the Secret's example values."""
    values = dict(by_kind("ConfigMap")["interstore-config"]["data"])
    for spec in pod_specs().values():
        for container in spec.get("initContainers", []) + spec["containers"]:
            for variable in container.get("env", []):
                ref = variable["valueFrom"]["secretKeyRef"]
                values[variable["name"]] = by_kind("Secret")[ref["name"]]["stringData"][ref["key"]]
    return values


def test_every_variable_is_a_setting() -> None:
    assert set(environment()) - setting_names() == set()


def test_the_names_are_derived_from_the_settings_classes() -> None:
    # The check above is only as good as this list: spot-check it against known settings.
    names = setting_names()
    assert {"INTERSTORE_KAFKA_BOOTSTRAP_SERVERS", "INTERSTORE_FEATURES_WORKER_WEB_PORT"} <= names
    assert "INTERSTORE_KAFKA_BOOTSTRAP_SERVER" not in names


def test_the_values_make_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in environment().items():
        monkeypatch.setenv(name, value)
    settings: Any = Settings()
    assert settings.topics.partitions == 48
    assert settings.worker.web_bind == settings.api.host == "0.0.0.0"  # noqa: S104
    assert settings.api.keys == {}
    assert settings.api.dev_mode is False
