"""The hot-store contract, run against every HotStore (like ``tests/store_contract.py``).

A test module subclasses ``HotStoreContract`` and provides fixtures: ``clock`` (a FakeClock),
``hot_store`` (a fresh, empty store built with ``SESSION`` and ``RETENTION``, reading that clock),
``lose_everything`` (an async callable: what a Redis restart without persistence does) and
``expire_user`` (an async callable: one user's keys reaching their TTL).
"""

from __future__ import annotations

from tests.hot_contract_flushes import HotFlushesContract
from tests.hot_contract_sessions import HotSessionsContract
from tests.hot_contract_support import SESSION, Expire, Lose, P, hot, hydrate

__all__ = ["SESSION", "Expire", "HotStoreContract", "Lose", "P", "hot", "hydrate"]


class HotStoreContract(HotSessionsContract, HotFlushesContract):
    """Every test of both parts; a test module subclasses this one."""
