"""The audit log's own keys, separate from the data keys.

One Ed25519 key signs checkpoints; a MAC key derived from it authenticates each log position. Whoever
can write the database but not read this key file cannot forge, move or re-sign log entries.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from referral_service.audit.checkpoint import CheckpointSigner, CheckpointVerifier
from referral_service.settings import Settings

LOG_ORIGIN = "referral-service/audit"
KEY_NAME = "referral-service-audit"


class AuditKeys:
    def __init__(self, signer: CheckpointSigner, verifier: CheckpointVerifier, mac_key: bytes) -> None:
        self.signer = signer
        self.verifier = verifier
        # HMAC-SHA256 with its padded-key states hashed once: verification computes a million of these.
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in mac_key.ljust(64, b"\0")))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in mac_key.ljust(64, b"\0")))
        assert len(mac_key) <= 64

    def position_mac(self, seq: int, leaf_hash: bytes) -> bytes:
        """HMAC-SHA256(mac key, seq as 8 bytes big-endian || leaf hash)."""
        inner = self._inner.copy()
        inner.update(seq.to_bytes(8, "big") + leaf_hash)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def load_audit_keys(settings: Settings) -> AuditKeys:
    """Load the signing key; in development create it (0600) on first use, in production never."""
    path = Path(settings.audit_signing_key_path)
    if not path.exists() and not settings.is_production:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        CheckpointSigner.generate_key_file(path)
    signer = CheckpointSigner.from_key_file(path, KEY_NAME)
    verifier = CheckpointVerifier.from_verifier_key(signer.public_key_text())
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"audit-log-position-mac:v1").derive(
        raw
    )
    return AuditKeys(signer=signer, verifier=verifier, mac_key=mac_key)
