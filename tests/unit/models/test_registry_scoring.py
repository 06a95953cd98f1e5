"""Reloading a models folder, the scorers and their float matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from models.catalogue_view import CatalogueView
from models.errors import UnknownModel
from models.registry import ModelRegistry
from models.scoring import numeric_matrix
from tests.unit.models.test_graph import BASE
from tests.unit.models.test_matrix import model


def write(folder: Path, name: str, **changes: object) -> None:
    (folder / f"{name}.yaml").write_text(yaml.safe_dump({**BASE, **changes}))


def test_a_bad_new_version_is_rejected_and_the_old_one_keeps_serving(
    tmp_path: Path, view: CatalogueView
) -> None:
    registry = ModelRegistry(tmp_path, view)
    write(tmp_path, "m1")
    first = registry.reload()
    v1 = registry.get("m1").version
    assert [m.id for m in first.accepted] == ["m1"]
    write(tmp_path, "m1", columns=["user.user_activity.nope"])
    second = registry.reload()
    assert not second.accepted
    assert len(second.rejected) == 1
    assert "unknown feature" in str(second.rejected[0])
    assert registry.get("m1").version == v1
    assert "m1" in registry.rejections()
    assert not registry.reload().changed  # the same bad content is not reported again
    write(tmp_path, "m1", micro_batch=5)
    assert [m.id for m in registry.reload().accepted] == ["m1"]
    assert registry.get("m1").version != v1
    assert not registry.rejections()
    (tmp_path / "m1.yaml").unlink()
    assert registry.reload().removed == ["m1"]
    with pytest.raises(UnknownModel, match="no model 'm1'"):
        registry.get("m1")


def test_unchanged_files_are_not_reloaded(tmp_path: Path, view: CatalogueView) -> None:
    registry = ModelRegistry(tmp_path, view)
    write(tmp_path, "m1")
    registry.reload()
    assert not registry.reload().changed


def test_the_shipped_sample_model_is_a_model(view: CatalogueView) -> None:
    path = Path(__file__).parents[3] / "models" / "configs" / "home_ranker.yaml"
    assert yaml.safe_load(path.read_text())["columns"]


def by_column(rows: list[list[object]]) -> list[list[object]]:
    return [list(column) for column in zip(*rows, strict=True)]


def test_logistic_scores_are_the_sigmoid_of_the_weighted_sum(view: CatalogueView) -> None:
    scorer_spec = {
        "kind": "logistic",
        "bias": -1.0,
        "weights": {"product.product_stats.clicks_1h": 0.5, "user.user_activity.clicks_1h": 0.1},
    }
    m = model(view, scorer=scorer_spec)
    rows = [[7, 2, 0, 0], [7, 4, 0, 0]]
    assert m.scorer is not None
    scores = m.scorer.score(numeric_matrix(m.plan, by_column(rows)))
    expected = 1 / (1 + np.exp(-(np.array([0.7 + 1.0, 0.7 + 2.0]) - 1.0)))
    assert np.allclose(scores, expected)


def double_first_column(matrix: np.ndarray, columns: list[str]) -> list[float]:
    return [2 * float(x) for x in matrix[:, columns.index("user.user_activity.clicks_1h")]]


def test_an_entry_point_scorer_is_called_with_the_matrix(view: CatalogueView) -> None:
    entry = f"{__name__}:double_first_column"
    m = model(view, scorer={"kind": "entry_point", "entry_point": entry})
    assert m.scorer is not None
    assert m.scorer.score(numeric_matrix(m.plan, by_column([[3, 0, 0, 0]]))).tolist() == [6.0]
