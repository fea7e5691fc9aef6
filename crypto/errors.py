"""Exceptions raised by the crypto package.

Messages name versions, ids and reasons only: they end up in logs, so they never carry plaintext or keys.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class for every error raised by this package."""


class DecryptionError(CryptoError):
    """A blob or wrapped key failed authentication or is malformed."""


class UnknownKeyVersionError(CryptoError):
    """A key-encryption key version is not in the keyring (never existed, or retired and removed)."""


class KeyDestroyedError(CryptoError):
    """A data key was used after it had been crypto-shredded."""


class KeyringError(CryptoError):
    """The keyring is missing, unreadable, too permissive, malformed, or asked to do something unsafe."""
