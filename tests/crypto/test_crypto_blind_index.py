"""BlindIndexer: derivation matches the spec, equality where wanted, separation where not."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from crypto import BlindIndexer

ROOT_KEY = bytes(range(32))


def reference_index(root_key: bytes, column: str, value: str, length: int) -> bytes:
    """RFC 5869 HKDF-SHA256 (salt=None, one block) then HMAC-SHA256, written out independently."""
    prk = hmac.new(b"\x00" * 32, root_key, hashlib.sha256).digest()
    column_key = hmac.new(prk, b"blind-index:v1:" + column.encode() + b"\x01", hashlib.sha256).digest()
    return hmac.new(column_key, value.encode(), hashlib.sha256).digest()[:length]


@pytest.fixture
def indexer() -> BlindIndexer:
    return BlindIndexer(ROOT_KEY)


def test_matches_the_specified_derivation(indexer: BlindIndexer) -> None:
    assert indexer.length == 8
    for column, value in [("phone", "+49351123456"), ("email", "jörg@example.de"), ("x", "y")]:
        assert indexer.compute(column, value) == reference_index(ROOT_KEY, column, value, 8)


def test_same_value_same_index_across_instances(indexer: BlindIndexer) -> None:
    assert indexer.compute("phone", "+49351123456") == BlindIndexer(ROOT_KEY).compute("phone", "+49351123456")
    assert indexer.compute("phone", "+49351123456") == indexer.compute("phone", "+49351123456")


def test_different_value_column_or_root_key_gives_different_index(indexer: BlindIndexer) -> None:
    base = indexer.compute("phone", "+49351123456")
    assert indexer.compute("phone", "+49351123457") != base
    assert indexer.compute("mobile", "+49351123456") != base
    assert BlindIndexer(bytes(32)).compute("phone", "+49351123456") != base


def test_truncation_is_a_prefix_of_the_full_mac() -> None:
    full = BlindIndexer(ROOT_KEY, length=32).compute("email", "a@b.de")
    assert len(full) == 32
    assert BlindIndexer(ROOT_KEY, length=8).compute("email", "a@b.de") == full[:8]
    assert BlindIndexer(ROOT_KEY, length=4).compute("email", "a@b.de") == full[:4]


@pytest.mark.parametrize(
    "raw", ["+49 351 123456", "0049351123456", "0351/123456", "0351-12 34 56", "+49 (0)351 123456"]
)
def test_phone_formats_share_one_index(indexer: BlindIndexer, raw: str) -> None:
    assert indexer.index_phone(raw) == indexer.compute("phone", "+49351123456")


def test_different_phone_numbers_differ(indexer: BlindIndexer) -> None:
    assert indexer.index_phone("0351 123456") != indexer.index_phone("0351 123457")
    assert indexer.index_phone("+43 351 123456") != indexer.index_phone("+49 351 123456")


def test_email_index_is_case_insensitive(indexer: BlindIndexer) -> None:
    expected = indexer.compute("email", "erika.mustermann@example.de")
    assert indexer.index_email("Erika.Mustermann@Example.DE") == expected
    assert indexer.index_email("  ERIKA.MUSTERMANN@EXAMPLE.DE ") == expected
    assert indexer.index_email("erika.musterfrau@example.de") != expected


def test_case_number_formats_share_one_index(indexer: BlindIndexer) -> None:
    expected = indexer.compute("case_number", "123JS45624")
    assert indexer.index_case_number("123 Js 456/24") == expected
    assert indexer.index_case_number("123js456-24") == expected


def test_convenience_columns_are_separated(indexer: BlindIndexer) -> None:
    # The same string in two kinds of column must not link.
    assert indexer.index_case_number("4935112") != indexer.index_phone("+4935112")


@pytest.mark.parametrize("raw", ["", "   ", "-/-", "keine Angabe"])
def test_blank_values_have_no_phone_index(indexer: BlindIndexer, raw: str) -> None:
    assert indexer.index_phone(raw) is None


@pytest.mark.parametrize("raw", ["", "  \t "])
def test_blank_values_have_no_email_or_case_number_index(indexer: BlindIndexer, raw: str) -> None:
    assert indexer.index_email(raw) is None
    assert indexer.index_case_number(raw) is None


def test_compute_refuses_empty_value(indexer: BlindIndexer) -> None:
    with pytest.raises(ValueError, match="empty"):
        indexer.compute("phone", "")


@pytest.mark.parametrize(("root_key", "length"), [(bytes(31), 8), (ROOT_KEY, 3), (ROOT_KEY, 33)])
def test_rejects_short_root_key_and_bad_length(root_key: bytes, length: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        BlindIndexer(root_key, length=length)


def test_repr_hides_root_key(indexer: BlindIndexer) -> None:
    assert ROOT_KEY.hex()[:8] not in repr(indexer)
    assert "\\x00\\x01" not in repr(indexer)
