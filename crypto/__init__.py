"""Field-level encryption, envelope keys and blind indexes. See docs/security/encryption.md."""

from crypto.blind_index import BlindIndexer
from crypto.cipher import FieldCipher
from crypto.context import FieldContext
from crypto.envelope import DataKeyCache, EnvelopeKeys
from crypto.errors import (
    CryptoError,
    DecryptionError,
    KeyDestroyedError,
    KeyringError,
    UnknownKeyVersionError,
)
from crypto.keys import DataKey, WrappedDataKey
from crypto.normalise import normalise_case_number, normalise_email, normalise_phone
from crypto.providers import KeyProvider, LocalKeyringProvider

__all__ = [
    "BlindIndexer",
    "CryptoError",
    "DataKey",
    "DataKeyCache",
    "DecryptionError",
    "EnvelopeKeys",
    "FieldCipher",
    "FieldContext",
    "KeyDestroyedError",
    "KeyProvider",
    "KeyringError",
    "LocalKeyringProvider",
    "UnknownKeyVersionError",
    "WrappedDataKey",
    "normalise_case_number",
    "normalise_email",
    "normalise_phone",
]
