"""One msgpack ``Packer`` per thread, reused: ``msgpack.packb`` builds a new one per call, which
costs as much as packing a small value (states, serving values and repartition records are
packed several times per event). Same bytes as ``msgpack.packb`` with its defaults (and
``default``, for ``converting_packer``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import msgpack

_local = threading.local()


def packer() -> msgpack.Packer:
    """This thread's packer (``pack`` returns the bytes and resets it)."""
    found: msgpack.Packer | None = getattr(_local, "packer", None)
    if found is None:
        found = _local.packer = msgpack.Packer()
    return found


def converting_packer(default: Callable[[Any], Any]) -> msgpack.Packer:
    """This thread's packer that packs what msgpack cannot as ``default`` converts it (one per
    ``default``; ``pack`` returns the bytes and resets it)."""
    found: dict[Callable[[Any], Any], msgpack.Packer] | None = getattr(_local, "converting", None)
    if found is None:
        found = _local.converting = {}
    packer_ = found.get(default)
    if packer_ is None:
        packer_ = found[default] = msgpack.Packer(default=default)
    return packer_
