"""Parameter parsing: kinds, since, ids."""

from __future__ import annotations

import pytest

from api.errors import ApiError
from api.params import check_user_id, id_problem, parse_kinds, parse_limit, parse_since


def test_kinds_default_to_all_and_keep_request_order_without_repeats() -> None:
    assert parse_kinds(None) == ("click", "order", "wishlist")
    assert parse_kinds("order, click,order") == ("order", "click")


@pytest.mark.parametrize(("raw", "words"), [("", "at least one"), (" , ", "at least one"),
                                            ("click,view", "unknown kind 'view'")])  # fmt: skip
def test_bad_kinds_are_422_with_the_reason(raw: str, words: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_kinds(raw)
    assert caught.value.status == 422
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("raw", "millis"),
    [
        (None, None),
        (1_780_000_000_000, 1_780_000_000_000),
        ("1780000000000", 1_780_000_000_000),
        ("2026-11-25T10:00:00Z", 1_795_600_800_000),
        ("2026-11-25T10:00:00", 1_795_600_800_000),  # no offset: UTC
        ("2026-11-25T11:00:00+01:00", 1_795_600_800_000),
        ("2026-11-25", 1_795_564_800_000),
    ],
)
def test_since_takes_epoch_millis_or_iso_8601(raw: int | str | None, millis: int | None) -> None:
    assert parse_since(raw) == millis


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-01", "-5", "1e12", "99999999999999999999"])
def test_bad_since_is_422(raw: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_since(raw)
    assert caught.value.status == 422
    assert caught.value.message.startswith("since:")


def test_ids_are_1_to_256_utf8_bytes() -> None:
    assert id_problem("u" * 256) is None
    assert id_problem("é" * 128) is None  # 256 bytes
    assert "got 258" in (id_problem("é" * 129) or "")
    assert "got 0" in (id_problem("") or "")
    assert "surrogate" in (id_problem("\ud800") or "")
    with pytest.raises(ApiError, match="user_id: user id must be 1 to 256"):
        check_user_id("x" * 257)


def test_limit_defaults_to_100_and_takes_1_to_1000() -> None:
    assert parse_limit(None) == 100
    assert parse_limit("1") == 1
    assert parse_limit(" 1000 ") == 1000
    for bad in ("0", "1001", "-1", "ten", "1.5", "", "1_000"):
        with pytest.raises(ApiError, match=r"query\.limit"):
            parse_limit(bad)
