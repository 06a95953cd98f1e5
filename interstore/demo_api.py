"""The demo's side of the read API: a local API key, and the sample ranker request at the end.

The key is made once and kept in ``<var>/api/demo.key`` (mode 0600, ``var/`` is git-ignored);
the API the demo starts accepts it (``INTERSTORE_API_KEYS``), and later demos reuse it.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.auth import API_KEY_HEADER
from core.errors import InterstoreError
from core.settings import API_SCOPES, MIN_API_KEY_CHARS, Settings

BATCH_GET = "/v1/interactions:batchGet"
FEATURES_GET = "/v1/features:get"


class DemoKeyRefused(InterstoreError):
    """The running API does not accept the demo's key (it was started with other keys)."""


def demo_key_path(settings: Settings) -> Path:
    return settings.stack.var_dir / "api" / "demo.key"


def load_or_create_key(path: Path) -> str:
    """The local demo key in ``path``, made (readable by its owner only) if there is none."""
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if len(key) >= MIN_API_KEY_CHARS:
        path.chmod(0o600)
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    os.replace(draft, path)
    return key


def api_env(key: str) -> dict[str, str]:
    """The environment that makes an API accept ``key`` with every scope."""
    return {"INTERSTORE_API_KEYS": json.dumps({key: list(API_SCOPES)})}


def key_hint(key: str) -> str:
    """How to name a key without showing it."""
    return f"{key[:4]}…"


@dataclass(frozen=True, slots=True)
class UserPick:
    user_id: str
    why: str


def pick_users(
    last_seen_s: Mapping[str, float],
    interactions_by_user: Mapping[str, int],
    *,
    now_s: float,
    idle_s: float | None,
    at_least: int = 3,
) -> list[UserPick]:
    """Three users for the sample request, of those with ``at_least`` interactions: the one
    seen last (live), the one idle longest (flushed, if the idle timeout has passed) and the
    most active of the others."""
    users = [user for user in last_seen_s if interactions_by_user.get(user, 0) >= at_least]
    if not users:
        return []
    live = max(users, key=lambda user: last_seen_s[user])
    idle = min(users, key=lambda user: last_seen_s[user])
    picks = [UserPick(live, f"last event {now_s - last_seen_s[live]:.0f}s ago: in a session")]
    idle_for = now_s - last_seen_s[idle]
    if idle != live:
        ended = idle_s is not None and idle_for > idle_s
        why = "its session has ended" if ended else "its session may still be live"
        picks.append(UserPick(idle, f"idle for {idle_for:.0f}s: {why}"))
    if others := [user for user in users if user not in (live, idle)]:
        busiest = max(others, key=lambda user: interactions_by_user[user])
        picks.append(
            UserPick(busiest, f"the most active: {interactions_by_user[busiest]} interactions")
        )
    return picks


@dataclass(frozen=True, slots=True)
class RankerCall:
    url: str
    body: dict[str, Any]
    status: int
    answer: Any
    elapsed_ms: float


def ranker_request(api_url: str, key: str, user_ids: list[str], limit: int = 5) -> RankerCall:
    """``POST /v1/interactions:batchGet`` as a ranker would make it."""
    return post_json(api_url, key, {"user_ids": user_ids, "limit": limit})


def post_json(api_url: str, key: str, body: dict[str, Any]) -> RankerCall:
    """A POST to the API with the demo key; DemoKeyRefused on 401 or 403."""
    response = httpx.post(api_url, json=body, headers={API_KEY_HEADER: key}, timeout=10)
    if response.status_code in (401, 403):
        raise DemoKeyRefused(
            f"the running API answered {response.status_code} to the demo key: it was started "
            "with other keys; stop it (interstore stack down stops the worker and the API with "
            "the stack) and run the demo again"
        )
    try:
        answer = response.json()
    except ValueError:
        answer = response.text
    elapsed_ms = response.elapsed.total_seconds() * 1000
    return RankerCall(api_url, body, response.status_code, answer, elapsed_ms)


def curl_command(call: RankerCall, key_file: Path) -> str:
    """The same request as a curl command; the key is read from its file, not shown."""
    key = f"$(cat {shlex.quote(shown_path(key_file))})"
    return (
        f"curl -s -X POST '{call.url}' \\\n"
        f'  -H "{API_KEY_HEADER}: {key}" -H "Content-Type: application/json" \\\n'
        f"  -d '{json.dumps(call.body)}'"
    )


def shown_path(path: Path) -> str:
    """``path`` relative to the current folder when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def trimmed_json(answer: Any, per_user: int = 3) -> str:
    """The answer as indented JSON, one interaction per line, ``per_user`` of each user's."""
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
        return json.dumps(answer, indent=2)[:4000]
    lines = ["{", '  "results": [']
    results = answer["results"]
    for number, result in enumerate(results):
        comma = "," if number < len(results) - 1 else ""
        items = result.get("interactions") if isinstance(result, dict) else None
        if not isinstance(items, list):
            lines.append(f"    {json.dumps(result)}{comma}")
            continue
        head = {k: v for k, v in result.items() if k != "interactions"}
        lines.append(f'    {json.dumps(head)[:-1]}, "interactions": [')
        shown = items[:per_user]
        for index, item in enumerate(shown):
            more = "," if index < len(items) - 1 else ""
            lines.append(f"      {json.dumps(item)}{more}")
        if len(items) > per_user:
            lines.append(f"      … {len(items) - per_user} more")
        lines.append(f"    ]}}{comma}")
    lines += ["  ]", "}"]
    return "\n".join(lines)
