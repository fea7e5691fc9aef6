"""FieldCipher: round trips, byte layout, and every way a blob can be wrong."""

from __future__ import annotations

import os
import struct
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from crypto import DataKey, DecryptionError, FieldCipher, FieldContext
from crypto.cipher import HEADER_SIZE, NONCE_SIZE, OVERHEAD, TAG_SIZE

KEY = DataKey(id=uuid.UUID("6f1c2a4e-8b0d-4c3e-9a5f-1b2c3d4e5f60"), material=bytes(range(32)))
CONTEXT = FieldContext(table="victims", column="name", row_id="row-1")
PLAINTEXT = b"Erika Mustermann"

context_parts = st.text(min_size=1, max_size=40)
contexts = st.builds(FieldContext, table=context_parts, column=context_parts, row_id=context_parts)


def fresh_key() -> DataKey:
    return DataKey(id=uuid.uuid4(), material=os.urandom(32))


def encoded(part: str) -> bytes:
    data = part.encode("utf-8")
    return struct.pack(">I", len(data)) + data


@given(text=st.text(max_size=500), context=contexts)
def test_text_round_trip(text: str, context: FieldContext) -> None:
    blob = FieldCipher.encrypt_text(KEY, text, context)
    assert FieldCipher.decrypt_text(KEY, blob, context) == text


@given(value=st.binary(max_size=4096), context=contexts)
def test_binary_round_trip(value: bytes, context: FieldContext) -> None:
    blob = FieldCipher.encrypt(KEY, value, context)
    assert FieldCipher.decrypt(KEY, blob, context) == value
    assert len(blob) == OVERHEAD + len(value)


def test_byte_layout_and_associated_data_match_the_specification() -> None:
    blob = FieldCipher.encrypt(KEY, PLAINTEXT, CONTEXT)
    assert blob[0] == 0x01
    assert blob[1] == 0x01
    assert blob[2:18] == KEY.id.bytes
    assert (HEADER_SIZE, NONCE_SIZE, TAG_SIZE, OVERHEAD) == (18, 12, 16, 46)
    # Decrypt independently of the library, with the associated data built from the written spec.
    aad = blob[:18] + encoded("victims") + encoded("name") + encoded("row-1")
    assert AESGCM(KEY.material).decrypt(blob[18:30], blob[30:], aad) == PLAINTEXT
    assert FieldCipher.key_id_of(blob) == KEY.id


def test_same_plaintext_encrypts_differently_each_time() -> None:
    first = FieldCipher.encrypt(KEY, PLAINTEXT, CONTEXT)
    second = FieldCipher.encrypt(KEY, PLAINTEXT, CONTEXT)
    assert first != second
    assert first[18:30] != second[18:30]


def test_flipping_any_single_byte_fails() -> None:
    blob = FieldCipher.encrypt(KEY, PLAINTEXT, CONTEXT)
    # Header, nonce, ciphertext and tag: every position.
    for position in range(len(blob)):
        for mask in (0x01, 0x80, 0xFF):
            tampered = bytearray(blob)
            tampered[position] ^= mask
            with pytest.raises(DecryptionError):
                FieldCipher.decrypt(KEY, bytes(tampered), CONTEXT)


@given(value=st.binary(max_size=64), data=st.data())
def test_flipping_a_random_byte_fails(value: bytes, data: st.DataObject) -> None:
    blob = bytearray(FieldCipher.encrypt(KEY, value, CONTEXT))
    position = data.draw(st.integers(0, len(blob) - 1))
    blob[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(DecryptionError):
        FieldCipher.decrypt(KEY, bytes(blob), CONTEXT)


def test_every_truncation_fails() -> None:
    blob = FieldCipher.encrypt(KEY, PLAINTEXT, CONTEXT)
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            FieldCipher.decrypt(KEY, blob[:length], CONTEXT)


def test_appended_bytes_fail() -> None:
    blob = FieldCipher.encrypt(KEY, PLAINTEXT, CONTEXT)
    with pytest.raises(DecryptionError):
        FieldCipher.decrypt(KEY, blob + b"\x00", CONTEXT)


@pytest.mark.parametrize(
    "other",
    [
        FieldContext(table="victims", column="name", row_id="row-2"),
        FieldContext(table="victims", column="phone", row_id="row-1"),
        FieldContext(table="complainants", column="name", row_id="row-1"),
        # Length prefixes keep part boundaries: moving characters between parts must not collide.
        FieldContext(table="victimsn", column="ame", row_id="row-1"),
        FieldContext(table="victims", column="namerow-", row_id="1"),
    ],
)
def test_value_moved_to_another_field_fails(other: FieldContext) -> None:
    blob = FieldCipher.encrypt(KEY, PLAINTEXT, CONTEXT)
    with pytest.raises(DecryptionError):
        FieldCipher.decrypt(KEY, blob, other)


def test_values_swapped_between_rows_and_between_columns_fail() -> None:
    key = fresh_key()
    alice_name = FieldContext("victims", "name", "alice")
    bob_name = FieldContext("victims", "name", "bob")
    alice_phone = FieldContext("victims", "phone", "alice")
    blobs = {
        alice_name: FieldCipher.encrypt_text(key, "Alice", alice_name),
        bob_name: FieldCipher.encrypt_text(key, "Bob", bob_name),
        alice_phone: FieldCipher.encrypt_text(key, "+49351123456", alice_phone),
    }
    for source, blob in blobs.items():
        for target in blobs:
            if target != source:
                with pytest.raises(DecryptionError):
                    FieldCipher.decrypt_text(key, blob, target)


def test_wrong_data_key_fails() -> None:
    blob = FieldCipher.encrypt(KEY, PLAINTEXT, CONTEXT)
    with pytest.raises(DecryptionError, match="encrypted under data key"):
        FieldCipher.decrypt(fresh_key(), blob, CONTEXT)


def test_right_key_id_with_wrong_material_fails() -> None:
    blob = FieldCipher.encrypt(KEY, PLAINTEXT, CONTEXT)
    impostor = DataKey(id=KEY.id, material=os.urandom(32))
    with pytest.raises(DecryptionError, match="failed authentication"):
        FieldCipher.decrypt(impostor, blob, CONTEXT)


@pytest.mark.parametrize(
    ("position", "value", "message"), [(0, 0x02, "format version 2"), (1, 0x02, "algorithm 2")]
)
def test_unknown_version_or_algorithm_fails(position: int, value: int, message: str) -> None:
    blob = bytearray(FieldCipher.encrypt(KEY, PLAINTEXT, CONTEXT))
    blob[position] = value
    with pytest.raises(DecryptionError, match=message):
        FieldCipher.decrypt(KEY, bytes(blob), CONTEXT)
    with pytest.raises(DecryptionError, match=message):
        FieldCipher.key_id_of(bytes(blob))


@pytest.mark.parametrize("blob", [b"", b"\x01\x01", bytes(OVERHEAD - 1)])
def test_key_id_of_rejects_truncated_blobs(blob: bytes) -> None:
    with pytest.raises(DecryptionError, match="truncated"):
        FieldCipher.key_id_of(blob)


def test_decrypt_text_rejects_non_utf8_without_leaking_it() -> None:
    secret = b"\xffgeheim-\xfe"
    blob = FieldCipher.encrypt(KEY, secret, CONTEXT)
    with pytest.raises(DecryptionError) as caught:
        FieldCipher.decrypt_text(KEY, blob, CONTEXT)
    # The UnicodeDecodeError quotes the bytes; it must not travel along as context.
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    assert "geheim" not in str(caught.value)


def test_errors_name_no_plaintext_or_key_material() -> None:
    secret = "Opfer: Erika Mustermann"
    blob = bytearray(FieldCipher.encrypt_text(KEY, secret, CONTEXT))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError) as caught:
        FieldCipher.decrypt_text(KEY, bytes(blob), CONTEXT)
    text = str(caught.value) + repr(caught.value)
    assert "Erika" not in text
    assert KEY.material.hex() not in text
    assert repr(KEY.material) not in text


def test_no_nonce_repeats_in_100000_encryptions() -> None:
    key = fresh_key()
    nonces = {
        FieldCipher.encrypt(key, b"x", CONTEXT)[HEADER_SIZE : HEADER_SIZE + NONCE_SIZE]
        for _ in range(100_000)
    }
    assert len(nonces) == 100_000


def test_data_key_repr_hides_material() -> None:
    material = bytes.fromhex("a5" * 32)
    key = DataKey(id=uuid.uuid4(), material=material)
    for text in (repr(key), str(key)):
        assert str(key.id) in text
        assert "a5a5" not in text
        assert "\\xa5" not in text
        assert "material" not in text
    # Caching the AES state on the key must not leak into its repr either.
    FieldCipher.encrypt(key, b"x", CONTEXT)
    assert "a5a5" not in repr(key)
    assert "\\xa5" not in repr(key)


@pytest.mark.parametrize("material", [b"", bytes(16), bytes(31), bytes(33)])
def test_data_key_requires_32_bytes(material: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(id=uuid.uuid4(), material=material)


def test_data_keys_compare_by_id_and_material_only() -> None:
    key = fresh_key()
    twin = DataKey(id=key.id, material=key.material)
    FieldCipher.encrypt(key, b"x", CONTEXT)
    assert key == twin
    assert hash(key) == hash(twin)


@pytest.mark.parametrize(
    ("table", "column", "row_id"),
    [("", "name", "1"), ("victims", "", "1"), ("victims", "name", ""), ("victims", "name", "\ud800")],
)
def test_field_context_rejects_empty_or_unencodable_parts(table: str, column: str, row_id: str) -> None:
    with pytest.raises(ValueError, match="FieldContext"):
        FieldContext(table=table, column=column, row_id=row_id)
