"""A failing Maven fetch is one clear line naming the coordinates, and leaves nothing half-done."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from deploy.errors import FetchError
from deploy.maven import DONE_MARKER, fetch_libs


def test_unknown_version_fails_with_the_coordinates(settings: Settings, tmp_path: Path) -> None:
    dest = tmp_path / "libs"
    with pytest.raises(FetchError) as caught:
        fetch_libs("kafka", {"kafka.version": "0.0.1-missing"}, settings.stack.cache_dir, dest)
    message = str(caught.value)
    assert "kafka.version=0.0.1-missing" in message
    assert "\n" not in message
    assert not (dest / DONE_MARKER).exists()
