"""What every settings class shares: the project root, the pydantic-settings config, and the
descriptions of settings two services have alike."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_DESCRIPTION = (
    "(consumer=batch) A stop not finished this long after SIGTERM/SIGINT or a failed batch is "
    "given up: the process exits at once, status 3 (streams.until_signalled)."
)
"""``stop_grace_s`` of the worker and of the features worker."""


def settings_config(prefix: str) -> SettingsConfigDict:
    """Frozen, read from environment variables starting with ``prefix``, unknown ones ignored."""
    return SettingsConfigDict(env_prefix=prefix, frozen=True, extra="ignore")
