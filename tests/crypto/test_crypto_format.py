"""The stored format as another implementation would read it, and the value types' guarantees: a
field context that names its place, a data key that refuses the wrong type, a bounded memory of
shredded keys, and normalisation that always ends."""

from __future__ import annotations

import copy
import pickle
import unicodedata
import uuid
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto import DataKey, EnvelopeKeys, FieldCipher, FieldContext, KeyDestroyedError, LocalKeyringProvider
from crypto import envelope as envelope_module
from crypto.cipher import HEADER_SIZE, NONCE_SIZE, associated_data
from crypto.normalise import normalise_case_number


def test_a_field_can_be_decrypted_from_the_documented_layout_alone() -> None:
    # header (version, algorithm, key id) | 12-byte nonce | AES-256-GCM ciphertext and tag, with the
    # header and the length-prefixed context as associated data.
    key = DataKey(id=uuid.uuid4(), material=bytes(range(32)))
    context = FieldContext("referrals", "victim_name", "r-1")
    blob = FieldCipher.encrypt_text(key, "Zoë", context)
    nonce, sealed = blob[HEADER_SIZE : HEADER_SIZE + NONCE_SIZE], blob[HEADER_SIZE + NONCE_SIZE :]
    assert blob[2:HEADER_SIZE] == key.id.bytes
    plain = AESGCM(key.material).decrypt(nonce, sealed, associated_data(key.id, context))
    assert plain.decode() == "Zoë"
    moved = FieldContext("referrals", "victim_name", "r-2")
    with pytest.raises(InvalidTag):
        AESGCM(key.material).decrypt(nonce, sealed, associated_data(key.id, moved))


def test_a_field_context_names_its_place_and_survives_copies() -> None:
    context = FieldContext("complaints", "description", "c-7")
    assert (context.table, context.column, context.row_id) == ("complaints", "description", "c-7")
    assert repr(context) == "FieldContext(table='complaints', column='description', row_id='c-7')"
    for copied in (copy.deepcopy(context), pickle.loads(pickle.dumps(context))):  # noqa: S301 - own data
        assert copied == context
        assert copied._encoded == context._encoded
    assert context != FieldContext("complaints", "description", "c-8")


@pytest.mark.parametrize(
    ("table", "column", "row"), [("", "c", "r"), ("t", "", "r"), ("t", "c", ""), ("t", "c", "\ud800")]
)
def test_a_field_context_refuses_empty_or_unencodable_parts(table: str, column: str, row: str) -> None:
    with pytest.raises(ValueError, match="FieldContext parts must be"):
        FieldContext(table, column, row)


def test_a_data_key_refuses_an_id_that_is_not_a_uuid() -> None:
    with pytest.raises(TypeError, match=r"uuid\.UUID"):
        DataKey(id=str(uuid.uuid4()), material=bytes(32))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(id=uuid.uuid4(), material=bytes(31))


def test_shredded_keys_are_remembered_up_to_a_bound_oldest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(envelope_module, "FORGOTTEN_IDS_REMEMBERED", 2)
    provider = LocalKeyringProvider.create(tmp_path / "keyring.json")
    keys = EnvelopeKeys(provider)
    assert keys.provider is provider
    made = [keys.new_data_key() for _ in range(3)]
    for key, _ in made:
        keys.forget(key.id)
    # The oldest id fell out of the in-process memory (the wrapped key is deleted in the database, so
    # nothing is lost); the two newest are still refused even with their wrapped key at hand.
    oldest, oldest_wrapped = made[0]
    assert keys.unwrap(oldest.id, oldest_wrapped).material == oldest.material
    for key, wrapped in made[1:]:
        with pytest.raises(KeyDestroyedError):
            keys.unwrap(key.id, wrapped)


def test_case_number_normalisation_ends_even_if_unicode_never_settles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A value that changed on every pass must not keep a request busy: the passes are bounded.
    calls: list[str] = []

    def restless(form: str, text: str) -> str:
        calls.append(text)
        return text + "a"

    monkeypatch.setattr(unicodedata, "normalize", restless)
    assert normalise_case_number("x") == "XAAAA"
    assert len(calls) == 4
