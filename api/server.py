"""`interstore api`: the read API under uvicorn (uvloop, httptools with the load gate asked as
each request is parsed, no access log)."""

from __future__ import annotations

import logging

import uvicorn

from api.app import create_app
from api.load_gate import LoadGate
from api.shedding_protocol import shedding_protocol
from core.settings import Settings


def run_api(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.api.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    app = create_app(settings)
    gate: LoadGate = app.state.load_gate
    uvicorn.run(
        app,
        host=settings.api.host,
        port=settings.api.port,
        loop="uvloop",
        http=shedding_protocol(gate) if settings.api.shed_at_parse else "httptools",
        access_log=False,
        log_level=settings.api.log_level,
        lifespan="on",
        # Past this many connections (idle keep-alive ones included) or tasks, uvicorn refuses
        # a request; the shedding protocol answers it with the same JSON 503 as the gate.
        limit_concurrency=settings.api.connection_limit,
        backlog=settings.api.listen_backlog,
    )
