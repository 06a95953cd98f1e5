"""The definition file: the shipped one loads; each mistake is a clear error naming file, line
and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.settings import FeatureSettings
from features.catalogue import load_catalogue, parse_catalogue
from features.definitions import FEATURE_TYPES
from features.errors import DefinitionError

HEAD = """\
version: 1
entities:
  user: {keys: [user_id]}
  product: {keys: [product_id]}
groups:
"""


def problems(groups: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_catalogue(HEAD + textwrap.dedent(groups), "defs.yaml")
    return caught.value.problems


def test_the_shipped_definitions_load_with_every_type_and_window() -> None:
    catalogue = load_catalogue(FeatureSettings().definitions_path)
    assert len(catalogue.features) >= 40
    assert set(catalogue.entities) == {"user", "product", "category", "user_category"}
    used = {ref.definition.type for ref in catalogue.features.values()}
    assert used == set(FEATURE_TYPES)
    windows = {getattr(ref.definition, "window", None) for ref in catalogue.features.values()}
    assert {"5m", "1h", "24h", "7d", "30d"} <= windows
    assert {g.entity for g in catalogue.groups.values()} == set(catalogue.entities)


def test_a_valid_file_indexes_features_and_serving_positions() -> None:
    catalogue = parse_catalogue(
        HEAD
        + """\
  - name: acts
    entity: user
    features:
      - {name: clicks_1h, type: count, kind: click, window: 1h}
      - {name: recent, type: last_n, kind: click, field: product_id, n: 5}
      - {name: orders_1h, type: count, kind: order, window: 1h}
      - {name: rate, type: ratio, numerator: orders_1h, denominator: clicks_1h, zero_div: -1}
"""
    )
    refs = catalogue.features
    assert [refs[f"acts.{n}"].served_index for n in ("clicks_1h", "recent", "orders_1h")] == [
        0,
        None,
        1,
    ]
    assert refs["acts.rate"].default == -1
    assert refs["acts.recent"].default == []
    described = catalogue.describe()["groups"][0]["features"]
    assert described[0] == {
        "name": "acts.clicks_1h",
        "type": "count",
        "kind": ["click"],
        "window": "1h",
        "default": 0,
    }


def test_fingerprints_change_with_the_features_not_with_defaults() -> None:
    base = HEAD + "  - name: g\n    entity: product\n    features:\n"
    one = parse_catalogue(base + "      - {name: c, type: count, kind: click, window: 1h}\n")
    other_default = parse_catalogue(
        base + "      - {name: c, type: count, kind: click, window: 1h, default: 5}\n"
    )
    other_window = parse_catalogue(
        base + "      - {name: c, type: count, kind: click, window: 2h}\n"
    )
    assert one.fingerprints["g"] == other_default.fingerprints["g"]
    assert one.fingerprints["g"] != other_window.fingerprints["g"]


def test_a_groups_fingerprint_depends_on_its_aggregates_only() -> None:
    """The fingerprint a rebuild records per group and checks before carrying groups over: the
    same for what a state and serving value do not depend on (max age, last_n, other groups and
    entities), another for what they do (a feature, the entity's keys)."""
    group = "  - name: g\n    entity: user\n{}    features:\n{}"
    count = "      - {name: c, type: count, kind: click, window: 1h}\n"
    last_n = "      - {name: r, type: last_n, kind: click, field: product_id, n: 3}\n"
    other = "  - name: h\n    entity: user\n    features:\n" + count

    def fingerprint(head: str = HEAD, max_age: str = "", extra: str = "", more: str = "") -> str:
        text = head + group.format(max_age, count + extra) + more
        return parse_catalogue(text).fingerprints["g"]

    base = fingerprint()
    assert fingerprint(max_age="    max_age: 1h\n") == base
    assert fingerprint(extra=last_n) == base
    assert fingerprint(more=other) == base
    assert fingerprint(head=HEAD.replace("  product: {keys: [product_id]}\n", "")) == base
    assert fingerprint(extra="      - {name: o, type: count, kind: order, window: 1h}\n") != base
    assert fingerprint(head=HEAD.replace("[user_id]", "[user_id, product_id]")) != base


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (
            """\
            - name: g
              entity: shop
              features:
                - {name: c, type: count, kind: click, window: 1h}
            """,
            "defs.yaml:7: groups[0] (g).entity: unknown entity 'shop'; known: user, product",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: c, type: count, kind: view, window: 1h}
            """,
            "defs.yaml:9: groups[0] (g).features[0] (c).kind: Value error, unknown kind 'view'",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: c, type: count, kind: click, window: 1h}
                - {name: d, type: count, kind: click, window: 31d}
            """,
            "defs.yaml:10: groups[0] (g).features[1] (d).window: Value error, window '31d' is "
            "outside 5m..30d",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: c, type: count, kind: click, window: 90s}
            """,
            "defs.yaml:9: groups[0] (g).features[0] (c).window: Value error, '90s' is not a "
            "duration",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: c, type: distinct, kind: click, field: colour, window: 1h}
            """,
            "defs.yaml:9: groups[0] (g).features[0] (c).field: click events have no field 'colour'",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: s, type: sum, kind: click, value: quantity*price, window: 1h}
            """,
            "defs.yaml:9: groups[0] (g).features[0] (s).value: click events have no field "
            "'quantity'",
        ),
        (
            """\
            - name: g
              entity: product
              features:
                - {name: r, type: last_n, kind: click, field: user_id, n: 5}
            """,
            "defs.yaml:9: groups[0] (g).features[0] (r).type: last_n is read from the "
            "interaction store: user entities only",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: c, type: count, kind: click, window: 1h}
                - {name: r, type: ratio, numerator: c, denominator: missing}
            """,
            "defs.yaml:10: groups[0] (g).features[1] (r).denominator: 'missing' is not a "
            "feature of group 'g'",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: c, type: count, kind: click, window: 1h}
                - {name: r, type: ratio, numerator: c, denominator: h.c}
            """,
            "defs.yaml:10: groups[0] (g).features[1] (r).denominator: 'h.c': a ratio divides "
            "features of its own group",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: c, type: count, kind: click, window: 1h}
                - {name: c, type: count, kind: order, window: 1h}
            """,
            "defs.yaml:10: groups[0] (g).features[1] (c).name: duplicate feature name g.c",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: c, type: count, kind: click, window: 1h}
            - name: g
              entity: product
              features:
                - {name: c, type: count, kind: click, window: 1h}
            """,
            "defs.yaml:10: groups[1] (g).name: duplicate group name 'g'",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: c, type: median, kind: click, window: 1h}
            """,
            "defs.yaml:9: groups[0] (g).features[0] (c): Input tag 'median' found using 'type' "
            "does not match any of the expected tags",
        ),
        (
            """\
            - name: g
              entity: user
              features:
                - {name: c, type: count, window: 1h}
            """,
            "defs.yaml:9: groups[0] (g).features[0] (c).kind: Field required",
        ),
    ],
)
def test_each_mistake_names_file_line_and_field(groups: str, expected: str) -> None:
    found = problems(groups)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """\
        - name: g
          entity: user
          features:
            - {name: c, type: count, kind: click, window: 1h}
            - {name: d, type: distinct, kind: order, field: surface, window: 1h}
            - {name: e, type: ratio, numerator: c, denominator: nope}
        """
    )
    assert len(found) == 2


def test_broken_yaml_and_unreadable_files_are_definition_errors(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"defs.yaml:4: not valid YAML(.|\n)*line 3"):
        parse_catalogue("version: 1\nentities:\n  user: {keys: [user_id]\n", "defs.yaml")
    with pytest.raises(DefinitionError, match="cannot read"):
        load_catalogue(tmp_path / "absent.yaml")
