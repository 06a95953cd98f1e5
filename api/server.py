"""`interstore api`: the read API under uvicorn (uvloop, httptools, no access log)."""

from __future__ import annotations

import logging

import uvicorn

from api.app import create_app
from core.settings import Settings

UVICORN_CONCURRENCY_FACTOR = 4


def run_api(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.api.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.api.host,
        port=settings.api.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.api.log_level,
        lifespan="on",
        # A backstop behind the app's own ConcurrencyLimit (JSON 503 + Retry-After): uvicorn
        # also counts idle keep-alive connections, so it sits well above.
        limit_concurrency=UVICORN_CONCURRENCY_FACTOR * settings.api.max_concurrency,
    )
