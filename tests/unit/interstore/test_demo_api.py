"""The demo's API side: its local key, the users it asks about, how the request is shown."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from core.settings import API_SCOPES, ApiSettings
from interstore.demo_api import (
    RankerCall,
    api_env,
    curl_command,
    load_or_create_key,
    pick_users,
    trimmed_json,
)


def test_the_key_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "api" / "demo.key"
    key = load_or_create_key(path)
    assert len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert load_or_create_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]


def test_the_api_environment_grants_the_key_every_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = load_or_create_key(tmp_path / "demo.key")
    for name, value in api_env(key).items():
        monkeypatch.setenv(name, value)
    keys = {k.get_secret_value(): v for k, v in ApiSettings().keys.items()}
    assert keys == {key: API_SCOPES}


def test_picks_a_live_user_an_idle_one_and_the_most_active() -> None:
    last_seen = {"a": 59.0, "b": 5.0, "c": 30.0, "d": 58.0, "e": 1.0}
    interactions = {"a": 4, "b": 6, "c": 20, "d": 8, "e": 0}
    picks = pick_users(last_seen, interactions, now_s=60.0, idle_s=15)
    assert [p.user_id for p in picks] == ["a", "b", "c"]
    assert "in a session" in picks[0].why
    assert picks[1].why == "idle for 55s: its session has ended"
    assert "20 interactions" in picks[2].why
    unknown = pick_users(last_seen, interactions, now_s=60.0, idle_s=None)
    assert "may still be live" in unknown[1].why
    assert pick_users({"e": 1.0}, {"e": 0}, now_s=2.0, idle_s=15) == []


def call(answer: object) -> RankerCall:
    body = {"user_ids": ["u1", "u2"], "limit": 5}
    return RankerCall("http://127.0.0.1:8000/v1/interactions:batchGet", body, 200, answer, 3.0)


def test_the_curl_command_reads_the_key_from_its_file() -> None:
    command = curl_command(call({}), Path("/somewhere/var/api/demo.key"))
    assert "$(cat /somewhere/var/api/demo.key)" in command
    assert "X-API-Key" in command
    assert '\'{"user_ids": ["u1", "u2"], "limit": 5}\'' in command


def test_the_answer_is_trimmed_to_a_few_interactions_per_user() -> None:
    item = {"kind": "click", "event_id": "e", "product_id": "p", "category_id": "c", "ts": 1}
    answer = {
        "results": [
            {"user_id": "u1", "source": "hot", "interactions": [item] * 5},
            {"user_id": "u2", "error": {"status": 503, "code": "x", "message": "down"}},
            {"user_id": "u3", "source": "cold", "interactions": []},
        ]
    }
    text = trimmed_json(answer, per_user=3)
    assert text.count('"kind": "click"') == 3
    assert "… 2 more" in text
    assert '{"user_id": "u1", "source": "hot", "interactions": [' in text
    assert json.dumps(answer["results"][1]) + "," in text
    untrimmed = trimmed_json(answer, per_user=10)
    without_markers = untrimmed.replace("… ", "")
    assert json.loads(without_markers) == answer
    assert trimmed_json("plain text") == '"plain text"'
