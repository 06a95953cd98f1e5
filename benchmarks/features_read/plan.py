"""The parameters of `interstore bench features-read`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FeaturesReadParams:
    products: int = 2_000
    sizes: tuple[int, ...] = (1, 30, 500)
    requests: int = 300
    """Per size and path (500 ids: a fifth of it), after ``warmup`` unmeasured ones."""
    warmup: int = 20
    seed: int = 7

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "sizes": list(self.sizes), "features": 20}
