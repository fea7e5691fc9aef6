"""Envelope encryption: per-case data keys, wrapped by the provider's KEKs, and a short-lived cache."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from crypto.errors import KeyDestroyedError
from crypto.keys import DATA_KEY_SIZE, DataKey, WrappedDataKey
from crypto.providers import KeyProvider

WRAP_AAD_PREFIX = b"data-key:v1:"
FORGOTTEN_IDS_REMEMBERED = 4096


def wrap_aad(key_id: uuid.UUID) -> bytes:
    """Associated data for wrapping a data key: binds the wrapped blob to its key id."""
    return WRAP_AAD_PREFIX + key_id.bytes


class DataKeyCache:
    """Bounded (LRU) cache of unwrapped data keys; each entry expires `ttl_seconds` after it was put.

    Expiry is counted from `put`, not from the last `get`, so a key in constant use still leaves memory
    (and must be unwrapped again, which fails once its wrapped key is deleted) at least every TTL.
    """

    def __init__(
        self,
        max_entries: int = 1024,
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be >= 0")
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must be >= 0")
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[uuid.UUID, tuple[DataKey, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DataKeyCache(entries={len(self)}, max_entries={self._max_entries}, ttl_seconds={self._ttl})"

    def get(self, key_id: uuid.UUID) -> DataKey | None:
        """The cached key, or None if absent or expired."""
        with self._lock:
            entry = self._entries.get(key_id)
            if entry is None:
                return None
            key, expires_at = entry
            if self._clock() >= expires_at:
                del self._entries[key_id]
                return None
            self._entries.move_to_end(key_id)
            return key

    def put(self, key: DataKey) -> None:
        """Cache `key`, evicting the least recently used entries beyond `max_entries`."""
        if self._max_entries == 0:
            return
        with self._lock:
            self._entries[key.id] = (key, self._clock() + self._ttl)
            self._entries.move_to_end(key.id)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def discard(self, key_id: uuid.UUID) -> None:
        """Drop `key_id` if cached."""
        with self._lock:
            self._entries.pop(key_id, None)

    def clear(self) -> None:
        """Drop every entry (e.g. after removing a KEK version)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        """Number of unexpired entries (expired ones are dropped on the way)."""
        with self._lock:
            now = self._clock()
            for key_id in [k for k, (_, expires_at) in self._entries.items() if now >= expires_at]:
                del self._entries[key_id]
            return len(self._entries)


class EnvelopeKeys:
    """Creates, unwraps and re-wraps per-case data keys through a `KeyProvider`."""

    def __init__(self, provider: KeyProvider, cache: DataKeyCache | None = None) -> None:
        self._provider = provider
        self._cache = cache if cache is not None else DataKeyCache()
        # Ids forgotten in this process. A request that read the wrapped key just before the case was
        # shredded must not unwrap it afterwards and put the key back into the cache.
        self._forgotten: OrderedDict[uuid.UUID, None] = OrderedDict()

    @property
    def provider(self) -> KeyProvider:
        """The provider holding the KEKs."""
        return self._provider

    @property
    def cache(self) -> DataKeyCache:
        """The cache of unwrapped keys."""
        return self._cache

    def new_data_key(self) -> tuple[DataKey, WrappedDataKey]:
        """A fresh data key and its wrapped form (store the latter; the former stays in memory)."""
        key = DataKey(id=uuid.uuid4(), material=os.urandom(DATA_KEY_SIZE))
        wrapped = self._provider.wrap(key.material, aad=wrap_aad(key.id))
        self._cache.put(key)
        return key, wrapped

    def unwrap(self, key_id: uuid.UUID, wrapped: WrappedDataKey) -> DataKey:
        """The data key `key_id`, from the cache or by unwrapping `wrapped`."""
        self._refuse_forgotten(key_id)
        key = self._cache.get(key_id)
        if key is None:
            material = self._provider.unwrap(wrapped, aad=wrap_aad(key_id))
            key = DataKey(id=key_id, material=material)
            self._cache.put(key)
        return key

    def rewrap(self, key_id: uuid.UUID, wrapped: WrappedDataKey) -> WrappedDataKey:
        """`wrapped` re-wrapped under the current KEK (the same object if it already is)."""
        self._refuse_forgotten(key_id)
        if wrapped.kek_version == self._provider.current_version:
            return wrapped
        material = self._provider.unwrap(wrapped, aad=wrap_aad(key_id))
        return self._provider.wrap(material, aad=wrap_aad(key_id))

    def forget(self, key_id: uuid.UUID) -> None:
        """Drop `key_id` from the cache and refuse it from now on (KeyDestroyedError).

        Call this when crypto-shredding, together with deleting the wrapped key: without the wrapped key
        nothing can decrypt the fields. Other processes drop the key from their caches within the TTL.
        """
        self._cache.discard(key_id)
        self._forgotten[key_id] = None
        self._forgotten.move_to_end(key_id)
        while len(self._forgotten) > FORGOTTEN_IDS_REMEMBERED:
            self._forgotten.popitem(last=False)

    def _refuse_forgotten(self, key_id: uuid.UUID) -> None:
        if key_id in self._forgotten:
            raise KeyDestroyedError(f"data key {key_id} has been destroyed (crypto-shredded)")
