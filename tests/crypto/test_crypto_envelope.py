"""Envelope keys: data-key cache, rotation, retirement and crypto-shredding."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from crypto import (
    DataKey,
    DataKeyCache,
    DecryptionError,
    EnvelopeKeys,
    FieldCipher,
    FieldContext,
    KeyDestroyedError,
    LocalKeyringProvider,
    UnknownKeyVersionError,
    WrappedDataKey,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingProvider(LocalKeyringProvider):
    """A real keyring that counts unwraps, to see whether the cache was used."""

    unwraps = 0

    def unwrap(self, wrapped: WrappedDataKey, *, aad: bytes) -> bytes:
        self.unwraps += 1
        return super().unwrap(wrapped, aad=aad)


def data_key() -> DataKey:
    return DataKey(id=uuid.uuid4(), material=bytes(32))


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    return tmp_path / "keyring.json"


@pytest.fixture
def provider(keyring_path: Path) -> CountingProvider:
    return CountingProvider.create(keyring_path)


def fresh_process(keyring_path: Path) -> EnvelopeKeys:
    """What another process (or a restart) sees: the keyring on disk and an empty cache."""
    return EnvelopeKeys(LocalKeyringProvider.load(keyring_path))


# DataKeyCache


def test_cache_put_get_discard_clear() -> None:
    cache = DataKeyCache()
    first, second = data_key(), data_key()
    assert cache.get(first.id) is None
    cache.put(first)
    cache.put(second)
    assert cache.get(first.id) is first
    assert len(cache) == 2
    cache.discard(first.id)
    cache.discard(first.id)
    assert cache.get(first.id) is None
    assert len(cache) == 1
    cache.clear()
    assert cache.get(second.id) is None
    assert len(cache) == 0


def test_cache_entries_expire_after_ttl() -> None:
    clock = FakeClock()
    cache = DataKeyCache(ttl_seconds=60.0, clock=clock)
    key = data_key()
    cache.put(key)
    clock.now += 59.9
    assert cache.get(key.id) is key
    clock.now += 0.1
    assert cache.get(key.id) is None
    assert len(cache) == 0


def test_cache_ttl_counts_from_put_not_from_last_use() -> None:
    clock = FakeClock()
    cache = DataKeyCache(ttl_seconds=10.0, clock=clock)
    key = data_key()
    cache.put(key)
    for _ in range(9):
        clock.now += 1.0
        assert cache.get(key.id) is key
    clock.now += 1.0
    assert cache.get(key.id) is None


def test_cache_len_ignores_expired_entries() -> None:
    clock = FakeClock()
    cache = DataKeyCache(ttl_seconds=10.0, clock=clock)
    cache.put(data_key())
    clock.now += 5
    cache.put(data_key())
    clock.now += 5
    assert len(cache) == 1


def test_cache_evicts_least_recently_used_beyond_bound() -> None:
    cache = DataKeyCache(max_entries=3)
    keys = [data_key() for _ in range(4)]
    for key in keys[:3]:
        cache.put(key)
    assert cache.get(keys[0].id) is keys[0]  # now most recently used; keys[1] is the oldest
    cache.put(keys[3])
    assert len(cache) == 3
    assert cache.get(keys[1].id) is None
    assert [cache.get(k.id) for k in (keys[0], keys[2], keys[3])] == [keys[0], keys[2], keys[3]]


def test_cache_stays_bounded_under_many_puts() -> None:
    cache = DataKeyCache(max_entries=16)
    for _ in range(1000):
        cache.put(data_key())
    assert len(cache) == 16


def test_cache_of_size_zero_caches_nothing() -> None:
    cache = DataKeyCache(max_entries=0)
    key = data_key()
    cache.put(key)
    assert cache.get(key.id) is None


@pytest.mark.parametrize(("max_entries", "ttl"), [(-1, 60.0), (10, -1.0)])
def test_cache_rejects_negative_settings(max_entries: int, ttl: float) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        DataKeyCache(max_entries=max_entries, ttl_seconds=ttl)


def test_cache_repr_shows_no_material() -> None:
    cache = DataKeyCache()
    key = DataKey(id=uuid.uuid4(), material=b"\xa5" * 32)
    cache.put(key)
    assert "a5" not in repr(cache).lower()


# EnvelopeKeys


def test_new_data_key_is_fresh_and_wrapped_under_current_kek(
    provider: CountingProvider, keyring_path: Path
) -> None:
    envelope = EnvelopeKeys(provider)
    key, wrapped = envelope.new_data_key()
    other, _ = envelope.new_data_key()
    assert key.id.version == 4
    assert len(key.material) == 32
    assert key.id != other.id
    assert key.material != other.material
    assert wrapped.kek_version == provider.current_version
    assert fresh_process(keyring_path).unwrap(key.id, wrapped) == key


def test_unwrap_uses_the_cache(provider: CountingProvider) -> None:
    clock = FakeClock()
    envelope = EnvelopeKeys(provider, DataKeyCache(ttl_seconds=60, clock=clock))
    key, wrapped = envelope.new_data_key()
    envelope.cache.clear()
    first = envelope.unwrap(key.id, wrapped)
    second = envelope.unwrap(key.id, wrapped)
    assert first is second
    assert provider.unwraps == 1
    clock.now += 60
    assert envelope.unwrap(key.id, wrapped) == key
    assert provider.unwraps == 2


def test_wrapped_key_cannot_be_moved_to_another_key_id(
    provider: CountingProvider, keyring_path: Path
) -> None:
    key, wrapped = EnvelopeKeys(provider).new_data_key()
    later = fresh_process(keyring_path)
    with pytest.raises(DecryptionError):
        later.unwrap(uuid.uuid4(), wrapped)
    assert later.unwrap(key.id, wrapped) == key


def test_rewrap_of_current_key_returns_the_same_object(provider: CountingProvider) -> None:
    envelope = EnvelopeKeys(provider)
    key, wrapped = envelope.new_data_key()
    assert envelope.rewrap(key.id, wrapped) is wrapped


def test_rotation_rewraps_keys_and_everything_still_decrypts(
    provider: CountingProvider, keyring_path: Path
) -> None:
    envelope = EnvelopeKeys(provider)
    cases = []
    for case in range(3):
        key, wrapped = envelope.new_data_key()
        context = FieldContext("victims", "name", f"case-{case}")
        cases.append((key.id, wrapped, context, FieldCipher.encrypt_text(key, f"Opfer {case}", context)))

    assert provider.add_version() == 2
    rewrapped = [
        (key_id, envelope.rewrap(key_id, wrapped), context, blob) for key_id, wrapped, context, blob in cases
    ]

    later = fresh_process(keyring_path)
    for case, (key_id, wrapped, context, blob) in enumerate(rewrapped):
        assert wrapped.kek_version == 2
        assert FieldCipher.decrypt_text(later.unwrap(key_id, wrapped), blob, context) == f"Opfer {case}"
    # The field blobs themselves were not touched by rotation.
    assert [blob for *_, blob in rewrapped] == [blob for *_, blob in cases]
    _, new_wrapped = later.new_data_key()
    assert new_wrapped.kek_version == 2


def test_removing_a_retired_version_still_in_use_breaks_its_keys(
    provider: CountingProvider, keyring_path: Path
) -> None:
    envelope = EnvelopeKeys(provider)
    forgotten_key, forgotten_wrapped = envelope.new_data_key()
    rotated_key, rotated_wrapped = envelope.new_data_key()
    provider.add_version()
    rotated_wrapped = envelope.rewrap(rotated_key.id, rotated_wrapped)
    provider.remove_version(1)

    later = fresh_process(keyring_path)
    with pytest.raises(UnknownKeyVersionError, match="key-encryption key version 1 is not in the keyring"):
        later.unwrap(forgotten_key.id, forgotten_wrapped)
    with pytest.raises(UnknownKeyVersionError, match="version 1 "):
        later.rewrap(forgotten_key.id, forgotten_wrapped)
    assert later.unwrap(rotated_key.id, rotated_wrapped) == rotated_key
    # In the rotating process the cache still holds the key until cleared (or the TTL passes).
    envelope.cache.clear()
    with pytest.raises(UnknownKeyVersionError, match="version 1 "):
        envelope.unwrap(forgotten_key.id, forgotten_wrapped)


def test_crypto_shredding_destroys_one_case_and_spares_the_others(
    provider: CountingProvider, keyring_path: Path
) -> None:
    envelope = EnvelopeKeys(provider)
    wrapped_store: dict[uuid.UUID, WrappedDataKey] = {}
    fields: dict[uuid.UUID, dict[FieldContext, bytes]] = {}
    plaintexts = {"name": "Erika Mustermann", "phone": "+49351123456", "circumstances": "Sachverhalt " * 50}
    for case in ("A", "B"):
        key, wrapped = envelope.new_data_key()
        wrapped_store[key.id] = wrapped
        fields[key.id] = {
            FieldContext("victims", column, f"case-{case}"): FieldCipher.encrypt_text(
                key, text, FieldContext("victims", column, f"case-{case}")
            )
            for column, text in plaintexts.items()
        }
    shredded_id, kept_id = list(fields)
    stale_wrapped = wrapped_store[shredded_id]

    envelope.forget(shredded_id)
    del wrapped_store[shredded_id]

    assert envelope.cache.get(shredded_id) is None
    # A request that read the wrapped key before the shredding cannot bring the key back.
    with pytest.raises(KeyDestroyedError, match=str(shredded_id)):
        envelope.unwrap(shredded_id, stale_wrapped)
    with pytest.raises(KeyDestroyedError):
        envelope.rewrap(shredded_id, stale_wrapped)
    assert envelope.cache.get(shredded_id) is None

    later = fresh_process(keyring_path)
    available_keys = [later.unwrap(key_id, wrapped) for key_id, wrapped in wrapped_store.items()]
    available_keys.append(later.new_data_key()[0])
    for context, blob in fields[shredded_id].items():
        assert FieldCipher.key_id_of(blob) == shredded_id
        for key in available_keys:
            with pytest.raises(DecryptionError):
                FieldCipher.decrypt(key, blob, context)
    # Nor can another case's wrapped key be passed off under the shredded id.
    with pytest.raises(DecryptionError):
        later.unwrap(shredded_id, wrapped_store[kept_id])

    kept_key = later.unwrap(kept_id, wrapped_store[kept_id])
    for context, blob in fields[kept_id].items():
        assert FieldCipher.decrypt_text(kept_key, blob, context) == plaintexts[context.column]
