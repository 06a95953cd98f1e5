"""A slow Cassandra (replies delayed through a TCP proxy): reads whose callers time out keep
their concurrency slot until the driver is done with them, so requests in flight never pass the
store's cap. Before, the slot was freed when the caller gave up while the driver request ran on
(10 s): in-flight reads grew by one cap per timeout."""

from __future__ import annotations

import asyncio

import pytest
from cassandra.cluster import Session

from core.settings import Settings
from deploy.tcp_proxy import TcpProxy
from store.cassandra_cold import CassandraColdStore
from store.cassandra_session import open_session
from tests.store_contract import RETENTION

CAP = 2


def driver_in_flight(session: Session) -> int:
    """Requests the driver has sent and not had answered, over every connection."""
    return sum(sum(state["in_flights"]) for state in session.get_pool_state().values())


async def test_timed_out_reads_keep_their_slot_until_the_driver_answers(
    settings: Settings, keyspace: str
) -> None:
    with TcpProxy(settings.cassandra.port) as proxy:
        through = settings.cassandra.model_copy(
            update={"port": proxy.port, "request_timeout_s": 10.0}
        )
        session = await asyncio.to_thread(open_session, through)
        try:
            store = CassandraColdStore(session, keyspace, RETENTION, concurrency=CAP)
            assert await store.recent("u0", kinds=["click"]) == []
            proxy.delay_s = 1.5
            most = 0
            for n in range(8):
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(store.recent(f"u{n}", kinds=["click"]), 0.2)
                most = max(most, driver_in_flight(session))
            assert most <= CAP  # before: one more request in flight per timeout
            proxy.delay_s = 0.0
            for _ in range(100):
                if driver_in_flight(session) == 0:
                    break
                await asyncio.sleep(0.1)
            assert driver_in_flight(session) == 0
            assert store.requests_in_flight == 0  # every slot came back
            assert await store.recent("u1", kinds=["click"]) == []
            await store.close()
        finally:
            session.cluster.shutdown()
