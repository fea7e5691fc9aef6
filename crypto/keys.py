"""Key value types shared by the cipher, the providers and the envelope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DATA_KEY_SIZE = 32


@dataclass(frozen=True, slots=True)
class DataKey:
    """An unwrapped per-case data key. Its repr never shows the material."""

    id: uuid.UUID
    material: bytes = field(repr=False)
    # Filled by FieldCipher on first use (AES key schedule, blob header). Kept on the key rather than in a
    # module-level cache so it is bounded by the DataKeyCache and dies with the key: no second copy of the
    # key outlives a forget().
    _cipher_state: tuple[AESGCM, bytes] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, uuid.UUID):
            raise TypeError("DataKey.id must be a uuid.UUID")
        if not isinstance(self.material, bytes) or len(self.material) != DATA_KEY_SIZE:
            raise ValueError(f"DataKey.material must be {DATA_KEY_SIZE} bytes")


@dataclass(frozen=True, slots=True)
class WrappedDataKey:
    """A data key encrypted under one key-encryption key (KEK) version; safe to store next to the data."""

    kek_version: int
    blob: bytes
