"""A genuine Cassandra ReadFailure (a replica's error, not a timeout) on the shared node, without
reconfiguring it: a partition holding more row tombstones than the node's
``tombstone_failure_threshold`` (Cassandra's default, 100,000; the generated cassandra.yaml
keeps it) makes the replica abort the read with TombstoneOverwhelmingException, which reaches the
driver as ``ReadFailure``. DESIGN 14 (issue 10, item 4): the read fails loudly and at once
(``ColdReadError``: a 500 in the API's JSON shape naming the failure, not a 503 to retry and not
an empty answer), and everyone else is still served."""

from __future__ import annotations

import time

import pytest
from cassandra.cluster import Session

from core.clock import wall_clock_ms
from core.settings import Settings
from store.buckets import bucket_of, span_days
from store.errors import ColdReadError
from tests.integration.api.conftest import Serve, Tiers
from tests.store_contract import click

TIMES, IDS = 400, 260  # 104,000 row tombstones: past the default failure threshold of 100,000


def overwhelm_with_tombstones(session: Session, keyspace: str, user: str, now_ms: int) -> None:
    """DELETEs naming TIMES x IDS rows (IN on both clustering columns): a tombstone each, in the
    user's current click bucket, and no live row to stop the read early."""
    bucket = bucket_of(now_ms, span_days("click"))
    times = [now_ms - 10_000 - n for n in range(TIMES)]
    ids = [f"gone-{n}" for n in range(IDS)]
    delete = session.prepare(
        f"DELETE FROM {keyspace}.interactions WHERE user_id = ? AND kind = 'click'"
        " AND bucket = ? AND ts IN ? AND event_id IN ?"
    )
    for start in range(0, IDS, 65):  # 26,000 rows a statement: well under any IN-product cap
        session.execute(delete, (user, bucket, times, ids[start : start + 65]), timeout=120)


@pytest.mark.timeout(300)
async def test_a_replica_read_failure_fails_that_read_loudly_and_the_api_serves_the_rest(
    serve: Serve, tiers: Tiers, cql_session: Session, api_settings: Settings
) -> None:
    now = wall_clock_ms()
    keyspace = api_settings.cassandra.keyspace
    await tiers.in_cold([click("ok-e1", now - 1000, "fine-user")])
    overwhelm_with_tombstones(cql_session, keyspace, "tomb-user", now)

    started = time.monotonic()
    with pytest.raises(ColdReadError, match="ReadFailure"):
        await tiers.cold.recent("tomb-user", kinds=("click",), limit=10)
    assert time.monotonic() - started < 20  # not retried until some timeout

    async with serve() as client:
        answer = await client.get("/v1/users/tomb-user/interactions?kinds=click")
        assert answer.status_code == 500
        assert answer.headers["content-type"].startswith("application/json")
        assert "ReadFailure" in answer.json()["error"]["message"]
        fine = await client.get("/v1/users/fine-user/interactions")
        assert fine.status_code == 200
        assert [i["event_id"] for i in fine.json()["interactions"]] == ["ok-e1"]
        both = await client.post(
            "/v1/interactions:batchGet", json={"user_ids": ["fine-user", "tomb-user"]}
        )
        assert both.status_code == 200  # the users read are answered, the failure named
        fine_entry, tomb_entry = both.json()["results"]
        assert [i["event_id"] for i in fine_entry["interactions"]] == ["ok-e1"]
        assert tomb_entry["error"]["status"] == 500
        assert "ReadFailure" in tomb_entry["error"]["message"]
        assert (await client.get("/healthz")).status_code == 200
