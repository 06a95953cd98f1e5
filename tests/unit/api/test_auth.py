"""API keys: constant-time lookup, scopes, development mode, refusing to start open."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from api.auth import KeyRing, NoApiKeys
from api.errors import ApiError
from core.settings import ApiSettings

KEY = "k" * 20


def test_a_known_key_has_its_scopes_and_an_unknown_one_none() -> None:
    ring = KeyRing({SecretStr(KEY): ("read:interactions",)}, dev_mode=False)
    assert ring.scopes_of(KEY) == {"read:interactions"}
    assert ring.scopes_of(KEY + "x") is None
    assert ring.scopes_of("") is None


@pytest.mark.parametrize(
    ("presented", "status"), [(None, 401), ("", 401), ("wrong-key-wrong-key", 401), (KEY, 403)]
)
def test_missing_or_unknown_key_is_401_and_a_missing_scope_403(
    presented: str | None, status: int
) -> None:
    ring = KeyRing({SecretStr(KEY): ("read:features",)}, dev_mode=False)
    with pytest.raises(ApiError) as caught:
        ring.check(presented, "read:interactions")
    assert caught.value.status == status


def test_development_mode_lets_everything_through() -> None:
    KeyRing({}, dev_mode=True).check(None, "read:interactions")


def test_configured_keys_are_enforced_even_in_development_mode() -> None:
    ring = KeyRing({SecretStr(KEY): ("read:interactions",)}, dev_mode=True)
    assert ring.dev_mode_ignored
    with pytest.raises(ApiError):
        ring.check(None, "read:interactions")


def test_no_keys_and_no_development_mode_refuses_to_start() -> None:
    with pytest.raises(NoApiKeys, match="INTERSTORE_API_DEV_MODE"):
        KeyRing({}, dev_mode=False)


def test_settings_read_keys_from_json_and_reject_weak_keys_or_unknown_scopes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INTERSTORE_API_KEYS", f'{{"{KEY}": ["read:interactions"]}}')
    settings = ApiSettings()
    assert {k.get_secret_value(): v for k, v in settings.keys.items()} == {
        KEY: ("read:interactions",)
    }
    assert KEY not in repr(settings)
    assert KEY not in str(settings.keys)
    monkeypatch.setenv("INTERSTORE_API_KEYS", '{"short": ["read:interactions"]}')
    with pytest.raises(ValidationError, match="at least 16 characters"):
        ApiSettings()
    monkeypatch.setenv("INTERSTORE_API_KEYS", f'{{"{KEY}": ["write:everything"]}}')
    with pytest.raises(ValidationError, match="unknown API key scopes"):
        ApiSettings()
