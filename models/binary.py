"""The compact binary matrix (``application/vnd.interstore.matrix``), little-endian:

```
b"ISMX" | u16 format version (1) | u16 reserved | u32 header length H | header: H bytes of JSON
| zero padding to a multiple of 8 | float64 matrix, rows x numeric columns, row-major
```
The header holds ``model``, ``version``, ``columns`` (all), ``numeric`` (the positions of the
columns in the matrix, in order), ``rows``, ``row_status``, ``partial``, ``timings_ms`` and
``values``: the non-numeric columns (sequences, attributes) by name, one value per row. Null
numbers are NaN. float64, not float32: epoch-millisecond features (``last_time``) need 41 bits.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

MEDIA_TYPE = "application/vnd.interstore.matrix"
MAGIC = b"ISMX"
FORMAT_VERSION = 1
PREFIX = struct.Struct("<4sHHI")


def encode(header: dict[str, Any], matrix: npt.NDArray[np.float64]) -> bytes:
    head = orjson.dumps(header)
    pad = -(PREFIX.size + len(head)) % 8
    body = np.ascontiguousarray(matrix, dtype="<f8").tobytes()
    return PREFIX.pack(MAGIC, FORMAT_VERSION, 0, len(head)) + head + b"\0" * pad + body


def decode(payload: bytes) -> tuple[dict[str, Any], npt.NDArray[np.float64]]:
    magic, version, _, size = PREFIX.unpack_from(payload)
    if magic != MAGIC or version != FORMAT_VERSION:
        raise ValueError(f"not an interstore matrix (magic {magic!r}, version {version})")
    header: dict[str, Any] = orjson.loads(payload[PREFIX.size : PREFIX.size + size])
    start = PREFIX.size + size + (-(PREFIX.size + size) % 8)
    shape = (header["rows"], len(header["numeric"]))
    matrix = np.frombuffer(payload, dtype="<f8", offset=start).reshape(shape)
    return header, matrix
