"""A minimal Faust worker for the round-trip test: copies every message of one topic to another.

Run as a separate process: ``python faust_echo_app.py worker`` with the ECHO_* variables set.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import faust

app = faust.App(
    os.environ["ECHO_APP_ID"],
    broker=f"kafka://{os.environ['ECHO_BOOTSTRAP']}",
    store="memory://",
    datadir=os.environ["ECHO_DATADIR"],
    web_enabled=False,
    topic_disable_leader=False,
)
source = app.topic(os.environ["ECHO_IN"], key_serializer="raw", value_serializer="raw")
sink = app.topic(os.environ["ECHO_OUT"], key_serializer="raw", value_serializer="raw")


@app.agent(source)
async def echo(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
    async for event in stream.events():
        await sink.send(key=event.key, value=event.value)
        yield None


if __name__ == "__main__":
    app.main()
