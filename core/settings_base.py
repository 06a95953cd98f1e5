"""What every settings class shares: the project root and the pydantic-settings config."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def settings_config(prefix: str) -> SettingsConfigDict:
    """Frozen, read from environment variables starting with ``prefix``, unknown ones ignored."""
    return SettingsConfigDict(env_prefix=prefix, frozen=True, extra="ignore")
