"""Per-case data keys for the service: create, fetch, destroy (crypto-shred), rotate the KEK.

Every fetch reads the key's row, even when the unwrapped key is cached: a case shredded by another
instance is refused at once, not when that instance's cache entry expires.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crypto import (
    BlindIndexer,
    DataKey,
    DataKeyCache,
    EnvelopeKeys,
    KeyDestroyedError,
    KeyProvider,
    LocalKeyringProvider,
    UnknownKeyVersionError,
    WrappedDataKey,
)
from referral_service.db import create_session_factory
from referral_service.keys import repository
from referral_service.keys.models import DataKeyRecord
from referral_service.settings import Settings


def load_key_provider(settings: Settings) -> LocalKeyringProvider:
    """The keyring: created (mode 0600) on first development start; production only loads an existing one."""
    path = Path(settings.keyring_path)
    if settings.is_production:
        return LocalKeyringProvider.load(path)
    return LocalKeyringProvider.load_or_create(path)


class CaseKeys:
    def __init__(
        self,
        provider_loader: Callable[[], KeyProvider],
        *,
        cache_entries: int = 1024,
        cache_ttl_seconds: float = 60.0,
    ) -> None:
        self._load = provider_loader
        self._envelope = EnvelopeKeys(provider_loader(), DataKeyCache(cache_entries, cache_ttl_seconds))
        self.blind_index = BlindIndexer(self._envelope.provider.index_root_key())

    @property
    def provider(self) -> KeyProvider:
        return self._envelope.provider

    async def create(self, session: AsyncSession, case_kind: str) -> DataKey:
        """A new data key for one case, stored wrapped in the caller's transaction."""
        key, record = self.new_record(case_kind)
        await repository.add(session, record)
        return key

    def new_record(self, case_kind: str) -> tuple[DataKey, DataKeyRecord]:
        """A new data key and the row that stores it wrapped, for callers that write rows in bulk."""
        key, wrapped = self._envelope.new_data_key()
        record = DataKeyRecord(
            id=key.id, case_kind=case_kind, kek_version=wrapped.kek_version, wrapped=wrapped.blob
        )
        return key, record

    async def get(self, session: AsyncSession, key_id: uuid.UUID) -> DataKey:
        """The case's data key; KeyDestroyedError once it has been shredded (or never existed)."""
        return self._unwrap(key_id, await repository.get(session, key_id))

    async def get_many(self, session: AsyncSession, key_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, DataKey]:
        """The data keys of many cases, read in one query; a shredded (or unknown) key is left out."""
        wanted = set(key_ids)
        records = {record.id: record for record in await repository.get_many(session, wanted)}
        keys: dict[uuid.UUID, DataKey] = {}
        for key_id in wanted:
            try:
                keys[key_id] = self._unwrap(key_id, records.get(key_id))
            except KeyDestroyedError:
                continue
        return keys

    def _unwrap(self, key_id: uuid.UUID, record: DataKeyRecord | None) -> DataKey:
        if record is None or record.wrapped is None or record.kek_version is None:
            self._envelope.cache.discard(key_id)
            raise KeyDestroyedError(f"data key {key_id} has been destroyed")
        wrapped = WrappedDataKey(kek_version=record.kek_version, blob=record.wrapped)
        try:
            return self._envelope.unwrap(key_id, wrapped)
        except UnknownKeyVersionError:
            # Another instance rotated the KEK since this one loaded the keyring: reload once.
            self._reload()
            return self._envelope.unwrap(key_id, wrapped)

    async def destroy(self, session: AsyncSession, key_id: uuid.UUID) -> bool:
        """Crypto-shred: delete the wrapped key. Every field encrypted under it is unreadable for good."""
        destroyed = await repository.destroy(session, key_id)
        self._envelope.cache.discard(key_id)
        return destroyed

    async def usage_by_kek_version(self, session: AsyncSession) -> dict[int, int]:
        return await repository.count_by_kek_version(session)

    async def rewrap_all(
        self, engine: AsyncEngine, *, batch_size: int = 500, progress: Callable[[int], None] | None = None
    ) -> int:
        """Re-wrap every live data key under the current KEK, in short transactions. Data stays as it is."""
        factory = create_session_factory(engine)
        current = self.provider.current_version
        done = 0
        while True:
            async with factory() as session, session.begin():
                batch = await repository.wrapped_below_version(session, current, batch_size)
                for key_id, version, blob in batch:
                    rewrapped = self._envelope.rewrap(key_id, WrappedDataKey(kek_version=version, blob=blob))
                    if await repository.store_rewrapped(
                        session, key_id, version, rewrapped.kek_version, rewrapped.blob
                    ):
                        done += 1
            if progress is not None:
                progress(len(batch))
            if len(batch) < batch_size:
                return done

    def _reload(self) -> None:
        cache = self._envelope.cache
        cache.clear()
        self._envelope = EnvelopeKeys(self._load(), cache)
