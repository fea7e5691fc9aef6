"""Blind indexes: keyed, truncated HMACs of normalised values, for equality search on encrypted columns."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.normalise import normalise_case_number, normalise_email, normalise_phone

DEFAULT_INDEX_LENGTH = 8
MIN_INDEX_LENGTH = 4
MAX_INDEX_LENGTH = 32
MIN_ROOT_KEY_SIZE = 32
COLUMN_KEY_SIZE = 32
HKDF_INFO_PREFIX = b"blind-index:v1:"

PHONE_COLUMN = "phone"
EMAIL_COLUMN = "email"
CASE_NUMBER_COLUMN = "case_number"


class BlindIndexer:
    """Computes blind indexes with one HKDF-derived HMAC key per column.

    Separate column keys mean equal values in different columns get unrelated indexes. The default
    length of 8 bytes is justified in docs/security/encryption.md.
    """

    def __init__(self, root_key: bytes, *, length: int = DEFAULT_INDEX_LENGTH) -> None:
        if len(root_key) < MIN_ROOT_KEY_SIZE:
            raise ValueError(f"root_key must be at least {MIN_ROOT_KEY_SIZE} bytes")
        if not MIN_INDEX_LENGTH <= length <= MAX_INDEX_LENGTH:
            raise ValueError(f"length must be between {MIN_INDEX_LENGTH} and {MAX_INDEX_LENGTH} bytes")
        self._root_key = bytes(root_key)
        self._length = length
        # A keyed HMAC state per column: copying it skips re-hashing the key on every compute.
        self._column_macs: dict[str, hmac.HMAC] = {}

    def __repr__(self) -> str:
        return f"BlindIndexer(length={self._length})"

    @property
    def length(self) -> int:
        """Index length in bytes."""
        return self._length

    def compute(self, column: str, normalised: str) -> bytes:
        """HMAC-SHA256 of `normalised` under the column's key, truncated to `length` bytes."""
        if not normalised:
            # Every empty value would share one index; callers store NULL instead.
            raise ValueError("refusing to index an empty value")
        mac = self._column_macs.get(column)
        if mac is None:
            mac = self._column_macs[column] = hmac.new(self._column_key(column), digestmod=hashlib.sha256)
        mac = mac.copy()
        mac.update(normalised.encode("utf-8"))
        return mac.digest()[: self._length]

    def index_phone(self, raw: str) -> bytes | None:
        """Index of a phone number, or None if it has no digits."""
        return self._index(PHONE_COLUMN, normalise_phone(raw))

    def index_email(self, raw: str) -> bytes | None:
        """Index of an e-mail address, or None if blank."""
        return self._index(EMAIL_COLUMN, normalise_email(raw))

    def index_case_number(self, raw: str) -> bytes | None:
        """Index of a case number (Aktenzeichen), or None if blank."""
        return self._index(CASE_NUMBER_COLUMN, normalise_case_number(raw))

    def _index(self, column: str, normalised: str) -> bytes | None:
        return self.compute(column, normalised) if normalised else None

    def _column_key(self, column: str) -> bytes:
        hkdf = HKDF(
            algorithm=hashes.SHA256(),
            length=COLUMN_KEY_SIZE,
            salt=None,
            info=HKDF_INFO_PREFIX + column.encode("utf-8"),
        )
        return hkdf.derive(self._root_key)
