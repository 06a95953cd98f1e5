"""The features worker on the real stack: hand-computed values for every feature type, late
events, bad records skipped, and exactness through a SIGKILL and a replay."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

from confluent_kafka import Producer

from core.settings import Settings
from features.tiles import DAY_MS, HOUR_MS, MINUTE_MS
from tests.integration.features.conftest import Features, Record

NOW = int(time.time() * 1000)


def click(user: str, product: str, category: str, ts: int) -> tuple[str, Record]:
    record = {"event_id": str(uuid.uuid4()), "user_id": user, "ts": ts, "product_id": product,
              "category_id": category, "surface": "search", "position": 1}  # fmt: skip
    return "click", record


def order(user: str, product: str, category: str, ts: int, qty: int, price: str) -> tuple[str, Any]:
    _, record = click(user, product, category, ts)
    del record["surface"], record["position"]
    record |= {"order_id": f"o-{uuid.uuid4().hex[:8]}", "quantity": qty,
               "price": Decimal(price), "currency": "EUR"}  # fmt: skip
    return "order", record


SCRIPT = [
    order("u1", "p1", "c1", NOW - 20 * DAY_MS, 1, "100.00"),  # in 30 d only
    order("u1", "p1", "c1", NOW - 3 * DAY_MS, 2, "12.50"),
    click("u1", "p1", "c1", NOW - 2 * DAY_MS),  # 7 d, not 24 h
    click("u1", "p2", "c2", NOW - 5 * HOUR_MS),
    click("u1", "p2", "c2", NOW - 30 * MINUTE_MS),
    click("u2", "p1", "c2", NOW - 20 * MINUTE_MS),
    order("u2", "p1", "c1", NOW - 15 * MINUTE_MS, 1, "5.00"),
    click("u1", "p3", "c3", NOW - 10 * MINUTE_MS),
    click("u1", "p3", "c3", NOW - 50 * MINUTE_MS),  # late, within the lateness (1 h): lands
    click("u1", "p3", "c3", NOW - 3 * HOUR_MS),  # later than the lateness: dropped
]
ENTITY_EVENTS = 4 * len(SCRIPT)  # each event touches a user, user x category, product, category


def test_scripted_events_give_the_hand_computed_value_of_every_feature_type(
    features: Features, settings: Settings
) -> None:
    features.produce(SCRIPT)
    raw = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    raw.produce(features.pipeline.events_topic, key=b"u1", value=b"not avro")
    raw.flush(30)
    worker = features.start()
    features.wait_applied(worker, ENTITY_EVENTS)

    # u1: clicks at -50 (late), -30, -10 min in 1 h; 7 d: -2 d, -5 h, -50, -30, -10 min
    # (-3 h was later than the lateness, behind -10 min: dropped); orders 7 d: -3 d;
    # value 30 d: 100 + 2 * 12.50; ratio 1/5; 24 h categories: c2, c3
    assert features.values("user", ("u1",), "u") == [
        3, 5, 1, 125.0, 0.2, NOW - 3 * DAY_MS, 2,
    ]  # fmt: skip
    assert features.values("user", ("u2",), "u") == [1, 1, 1, 5.0, 1.0, NOW - 15 * MINUTE_MS, 1]
    # p1: the newest event says c1; clicks -2 d, -20 min; orders -20 d, -3 d, -15 min; buyers
    # in 24 h: u2
    assert features.values("product", ("p1",), "p") == ["c1", 2, 3, 1]
    assert features.values("product", ("p3",), "p") == ["c3", 2, 0, 0]  # the dropped one too
    # c3: clicks within 5 min: none (the newest is -10 min); c2: 3 events
    assert features.values("category", ("c3",), "c") == [0, 2]
    assert features.values("category", ("c2",), "c") == [0, 3]
    assert features.values("user_category", ("u1", "c2"), "uc") == [2, NOW - 30 * MINUTE_MS]
    assert features.values("user_category", ("u1", "c3"), "uc") == [2, NOW - 10 * MINUTE_MS]
    assert features.values("user", ("nobody",), "u") is None

    assert worker.metric("interstore_feature_events_total", 'outcome="bad"') == 1
    # the -3 h click was too late for u1, u1 x c3, and for p3 and c3 (same source partition)
    assert worker.metric("interstore_feature_events_total", 'outcome="late"') == 4
    assert worker.metric("interstore_feature_freshness_seconds_count", 'group="u"') > 0
