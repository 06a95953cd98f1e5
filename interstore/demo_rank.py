"""The demo's last step: the sample model ranks products for the sample user through
``interstore.client``: the products the user clicked plus the ones most seen in the sample
answer (popular), ranked by ``POST /v1/models/home_ranker:rank`` and shown as a table."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from core.errors import InterstoreError
from interstore.client import Client

MODEL = "home_ranker"
MAX_CANDIDATES = 20


def candidates_for(user_id: str, batch_answer: Any) -> list[str]:
    """The user's clicked products first, then the products most seen in the whole answer."""
    results = batch_answer.get("results", []) if isinstance(batch_answer, dict) else []
    clicked: list[str] = []
    seen: Counter[str] = Counter()
    for result in results:
        for item in result.get("interactions", []):
            product = item.get("product_id")
            if not isinstance(product, str):
                continue
            seen[product] += 1
            if result.get("user_id") == user_id and item.get("kind") == "click":
                clicked.append(product)
    popular = [product for product, _ in seen.most_common()]
    return list(dict.fromkeys([*clicked, *popular]))[:MAX_CANDIDATES]


def show_rank(base_url: str, key: str, user_id: str, batch_answer: Any, console: Console) -> None:
    candidates = candidates_for(user_id, batch_answer)
    if not candidates:
        console.print("no products to rank: no :rank request")
        return
    console.print(
        f"\n[bold]The sample model ranks {len(candidates)} products for {user_id}[/] "
        f"(POST /v1/models/{MODEL}:rank, through interstore.client):"
    )
    try:
        with Client(base_url, key) as api:
            ranked = api.rank(MODEL, {"user_id": user_id}, candidates)
    except InterstoreError as exc:
        console.print(f"[bold red]rank failed:[/] {exc}")
        return
    table = Table(title=f"{MODEL} version {ranked.version}")
    for column in ("#", "product", "score", "row"):
        table.add_column(column, justify="left" if column == "product" else "right")
    for place, row in enumerate(ranked.ranking[:10], start=1):
        table.add_row(str(place), row.candidate, f"{row.score:.4f}", row.row_status)
    console.print(table)
    timings = ", ".join(f"{name} {ms:.1f} ms" for name, ms in ranked.timings_ms.items())
    console.print(f"partial: {ranked.partial}; {timings}")
