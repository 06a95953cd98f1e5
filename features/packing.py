"""One msgpack ``Packer`` per thread, reused: ``msgpack.packb`` builds a new one per call, which
costs as much as packing a small value (states, serving values and repartition records are
packed several times per event). Same bytes as ``msgpack.packb`` with its defaults."""

from __future__ import annotations

import threading

import msgpack

_local = threading.local()


def packer() -> msgpack.Packer:
    """This thread's packer (``pack`` returns the bytes and resets it)."""
    found: msgpack.Packer | None = getattr(_local, "packer", None)
    if found is None:
        found = _local.packer = msgpack.Packer()
    return found
