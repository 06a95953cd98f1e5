"""`interstore api`: the read API under uvicorn (uvloop, httptools, no access log)."""

from __future__ import annotations

import logging

import uvicorn

from api.app import create_app
from core.settings import Settings


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
    )
