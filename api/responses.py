"""JSON responses rendered by orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class OrjsonResponse(JSONResponse):
    """A JSONResponse (so FastAPI documents its schema as JSON) rendered by orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
