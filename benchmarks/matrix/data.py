"""The data of `interstore bench matrix`: users, products (each in a category), categories and
user x category pairs with seeded values for the 20 features of the benchmark's model, written
as interstore serving values (the features codec) and exported for Feast (the same numbers)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from redis import Redis

from core.clock import wall_clock_ms
from features.catalogue import Catalogue
from features.serving import ServingValue, encode_serving
from store.feature_store import serving_key

GROUPS = {
    "user": ("user_activity", ("clicks_1h", "clicks_24h", "orders_30d", "order_value_30d",
                               "orders_per_click_30d", "categories_clicked_24h")),
    "product": ("product_stats", ("clicks_1h", "clicks_24h", "orders_24h", "orders_7d",
                                  "conversion_7d", "revenue_7d", "buyers_7d", "clickers_24h")),
    "user_category": ("user_category_affinity", ("clicks_24h", "clicks_7d", "clicks_30d",
                                                 "orders_30d", "spend_30d",
                                                 "orders_per_click_30d")),
}  # fmt: skip
"""entity -> (group, the features that are the model's columns): 6 + 8 + 6 = 20."""
MODEL_ID = "bench_ranker"
WRITE_CHUNK = 2000


def bench_model(micro_batch: int, deadline_ms: int) -> str:
    """The benchmark's model file: 20 columns over user, product and user x category, the
    product's category derived from ``product_attributes.category_id``; a logistic scorer."""
    columns = [f"{e}.{g}.{f}" for e, (g, names) in GROUPS.items() for f in names]
    spec = {
        "description": "interstore bench matrix: 20 columns over user, product, user_category",
        "context": ["user_id"],
        "candidate": {"entity": "product", "key": "product_id"},
        "derived": {"category_id": "product.product_attributes.category_id"},
        "columns": columns,
        "micro_batch": micro_batch,
        "deadline_ms": deadline_ms,
        "scorer": {"kind": "logistic", "bias": -2.0,
                   "weights": {c: 0.01 * (n + 1) for n, c in enumerate(columns)}},
    }  # fmt: skip
    return yaml.safe_dump(spec, sort_keys=False)


@dataclass(frozen=True, slots=True)
class Dataset:
    users: list[str]
    products: list[str]
    categories: list[str]
    category_of: dict[str, str]
    values: dict[tuple[str, tuple[str, ...]], list[float]]
    """(entity, id) -> the values of ``GROUPS[entity]``'s features, in order."""

    @classmethod
    def generate(cls, users: int, products: int, categories: int, seed: int) -> Dataset:
        rng = random.Random(seed)
        user_ids = [f"bu{n:05d}" for n in range(users)]
        product_ids = [f"bp{n:06d}" for n in range(products)]
        category_ids = [f"bc{n:04d}" for n in range(categories)]
        category_of = {p: rng.choice(category_ids) for p in product_ids}

        def row(entity: str) -> list[float]:
            names = GROUPS[entity][1]
            return [float(rng.randint(0, 500)) if "_per_" not in n and "conversion" not in n
                    else round(rng.random(), 4) for n in names]  # fmt: skip

        values: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        for user in user_ids:
            values[("user", (user,))] = row("user")
            for category in category_ids:
                values[("user_category", (user, category))] = row("user_category")
        for product in product_ids:
            values[("product", (product,))] = row("product")
        return cls(user_ids, product_ids, category_ids, category_of, values)

    def serving_values(self, catalogue: Catalogue, prefix: str) -> Iterator[tuple[str, bytes]]:
        now = wall_clock_ms()

        def encoded(group: str, given: dict[str, Any]) -> bytes:
            served = catalogue.served(group)
            row = [given.get(f.name, catalogue.features[f"{group}.{f.name}"].default)
                   for f in served]  # fmt: skip
            return encode_serving(ServingValue(catalogue.fingerprints[group], now, now, None, row))

        for (entity, ids), row in self.values.items():
            group, names = GROUPS[entity]
            yield (
                serving_key(prefix, entity, ids, group),
                encoded(group, dict(zip(names, row, strict=True))),
            )
        for product, category in self.category_of.items():
            key = serving_key(prefix, "product", (product,), "product_attributes")
            yield key, encoded("product_attributes", {"category_id": category})

    def write(self, redis_url: str, catalogue: Catalogue, prefix: str) -> int:
        """Every serving value into Redis (MSET in chunks); how many keys."""
        client = Redis.from_url(redis_url)
        written, chunk = 0, {}
        try:
            for key, value in self.serving_values(catalogue, prefix):
                chunk[key] = value
                if len(chunk) >= WRITE_CHUNK:
                    client.mset(chunk)
                    written, chunk = written + len(chunk), {}
            if chunk:
                client.mset(chunk)
                written += len(chunk)
        finally:
            client.close()
        return written

    def feast_export(self) -> dict[str, Any]:
        """The same values for the Feast materialisation script (``benchmarks.matrix_feast``)."""
        tables: dict[str, Any] = {}
        for entity, (group, names) in GROUPS.items():
            keys = ["user_id", "category_id"] if entity == "user_category" else [f"{entity}_id"]
            rows = [[*ids, *row] for (e, ids), row in self.values.items() if e == entity]
            tables[group] = {"keys": keys, "features": list(names), "rows": rows}
        return tables

    def request(self, rng: random.Random, size: int) -> tuple[str, list[str]]:
        return rng.choice(self.users), rng.sample(self.products, size)
