"""API keys with scopes (``INTERSTORE_API_KEYS``), checked in constant time.

A key is sent in the ``X-API-Key`` header. Missing or unknown: 401; known without the route's
scope: 403. Development mode (``INTERSTORE_API_DEV_MODE=true``) with no keys configured lets
every request through and must be switched on explicitly: with neither keys nor development mode
the API does not start. Configured keys are always enforced (development mode then does nothing).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping

from fastapi import Request, Security
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

from api.errors import ApiError
from core.errors import InterstoreError

API_KEY_HEADER = "X-API-Key"
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="An API key from INTERSTORE_API_KEYS."
)


class NoApiKeys(InterstoreError):
    """Neither API keys nor development mode: the API would be open to anyone."""


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyRing:
    """The configured keys (as SHA-256 digests) and their scopes."""

    def __init__(self, keys: Mapping[SecretStr, tuple[str, ...]], *, dev_mode: bool) -> None:
        if not keys and not dev_mode:
            raise NoApiKeys(
                "no API keys configured: set INTERSTORE_API_KEYS to a JSON object of key to "
                'scopes, e.g. \'{"<secret>": ["read:interactions"]}\', or set '
                "INTERSTORE_API_DEV_MODE=true to serve without keys (local development only)"
            )
        self.dev_mode = dev_mode and not keys
        self.dev_mode_ignored = dev_mode and bool(keys)
        self._keys = [(_digest(k.get_secret_value()), frozenset(s)) for k, s in keys.items()]

    def scopes_of(self, presented: str) -> frozenset[str] | None:
        """The key's scopes, or None for an unknown key. Every configured key is compared (no
        early exit), digest against digest: the time taken says nothing of any key."""
        digest = _digest(presented)
        found: frozenset[str] | None = None
        for known, scopes in self._keys:
            if hmac.compare_digest(digest, known):
                found = scopes
        return found

    def check(self, presented: str | None, scope: str) -> None:
        if self.dev_mode:
            return
        if not presented:
            raise ApiError(401, f"missing API key: send one in the {API_KEY_HEADER} header")
        scopes = self.scopes_of(presented)
        if scopes is None:
            raise ApiError(401, "unknown API key")
        if scope not in scopes:
            raise ApiError(403, f"this API key lacks the scope {scope!r}")


def require_scope(scope: str) -> Callable[[Request, str | None], Awaitable[None]]:
    """A route dependency: the request's key must carry ``scope``."""

    async def check(request: Request, key: str | None = Security(api_key_header)) -> None:
        keyring: KeyRing = request.app.state.keyring
        keyring.check(key, scope)

    return check
