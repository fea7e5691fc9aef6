"""Signed checkpoints: an Ed25519 signature over (origin, tree size, root hash, time).

A checkpoint pins the Merkle root of the audit log at some size. Auditors who keep
earlier checkpoints can prove with a consistency proof that later ones only ever
appended to the log, so a signed checkpoint is what turns the Merkle tree into
evidence that holds up against the service operator.

The text format follows the transparency-log "signed note" checkpoints so that
it is readable by people and easy to re-implement::

    referral-service/audit
    1234
    <base64 root hash>
    2024-05-01T12:00:00Z

    — <key name> <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>

The signature covers the four body lines including their final newline (UTF-8).
The key id is ``SHA-256(key_name || "\\n" || 0x01 || raw public key)[:4]``; 0x01
is the signed-note algorithm byte for Ed25519. Parsing is deliberately strict:
every checkpoint has exactly one valid text, so a checkpoint can be compared,
stored and deduplicated as a string.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointKeyError",
    "CheckpointSigner",
    "CheckpointVerifier",
    "compute_key_id",
    "format_checkpoint_body",
    "parse_checkpoint_body",
]

_ED25519_ALG = b"\x01"
_ROOT_SIZE = 32
_KEY_ID_SIZE = 4
_SIG_SIZE = 64
# RFC 9162 tree sizes are uint64; the cap also bounds int() on hostile input.
_MAX_TREE_SIZE = 2**64 - 1
# Far above any real checkpoint; stops a hostile input from being processed at all.
_MAX_TEXT_LEN = 16 * 1024
_MAX_KEY_FILE_LEN = 64 * 1024
_SIG_PREFIX = "\u2014 "

_TREE_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_TIMESTAMP_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?Z")
_KEY_ID_HEX_RE = re.compile(r"[0-9a-f]{8}")


class CheckpointError(Exception):
    """A checkpoint is malformed, signed by an unknown key, or carries a bad signature."""


class CheckpointKeyError(CheckpointError):
    """A signing or verifier key is missing, unreadable, malformed or too widely readable."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed statement "the log ``origin`` had ``tree_size`` entries with this root at this time"."""

    origin: str
    tree_size: int
    root_hash: bytes
    timestamp: datetime

    def __post_init__(self) -> None:
        # Rejecting bad values here means a Checkpoint always has a text form,
        # and signing can never produce something the verifier would reject.
        if not isinstance(self.origin, str) or not self.origin or not self.origin.isprintable():
            raise ValueError("origin must be a non-empty single line of printable text")
        if (
            not isinstance(self.tree_size, int)
            or isinstance(self.tree_size, bool)
            or not 0 <= self.tree_size <= _MAX_TREE_SIZE
        ):
            raise ValueError("tree_size must be an integer in [0, 2**64)")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != _ROOT_SIZE:
            raise ValueError("root_hash must be 32 bytes")
        if not isinstance(self.timestamp, datetime) or self.timestamp.utcoffset() != timedelta(0):
            raise ValueError("timestamp must be a timezone-aware UTC datetime")


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode_canonical(text: str) -> bytes:
    """Decode standard padded base64, refusing any text that is not the one canonical encoding."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("invalid base64") from None
    # b64decode tolerates non-zero padding bits, so a second text would decode
    # to the same bytes; re-encoding pins down the canonical one.
    if _b64encode(data) != text:
        raise ValueError("non-canonical base64")
    return data


def _format_timestamp(ts: datetime) -> str:
    naive = ts.replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds" if naive.microsecond else "seconds") + "Z"


def _parse_timestamp(text: str) -> datetime:
    if not _TIMESTAMP_RE.fullmatch(text):
        raise ValueError("timestamp must look like 2024-05-01T12:00:00Z")
    ts = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    if _format_timestamp(ts) != text:
        raise ValueError("non-canonical timestamp (a zero fraction must be omitted)")
    return ts


def format_checkpoint_body(cp: Checkpoint) -> str:
    """Return the four-line body of ``cp``: the exact text that gets signed."""
    return f"{cp.origin}\n{cp.tree_size}\n{_b64encode(cp.root_hash)}\n{_format_timestamp(cp.timestamp)}\n"


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse an unsigned checkpoint body; raise CheckpointError unless it is canonical.

    This does not check any signature: use ``CheckpointVerifier.verify`` for
    text that arrives from outside.
    """
    if not isinstance(text, str) or len(text) > _MAX_TEXT_LEN:
        raise CheckpointError("malformed checkpoint: body must be text of bounded length")
    lines = text.split("\n")
    if len(lines) != 5 or lines[4] != "":
        raise CheckpointError("malformed checkpoint: body must be exactly four newline-terminated lines")
    origin, size_text, root_text, ts_text = lines[:4]
    if not origin or not origin.isprintable():
        raise CheckpointError("malformed checkpoint: origin must be non-empty printable text")
    if not _TREE_SIZE_RE.fullmatch(size_text) or len(size_text) > len(str(_MAX_TREE_SIZE)):
        raise CheckpointError(
            "malformed checkpoint: tree size must be a decimal integer without sign or leading zeros"
        )
    tree_size = int(size_text)
    if tree_size > _MAX_TREE_SIZE:
        raise CheckpointError("malformed checkpoint: tree size exceeds 2**64 - 1")
    try:
        root_hash = _b64decode_canonical(root_text)
    except ValueError as exc:
        raise CheckpointError(f"malformed checkpoint: root hash: {exc}") from None
    if len(root_hash) != _ROOT_SIZE:
        raise CheckpointError("malformed checkpoint: root hash must be 32 bytes")
    try:
        timestamp = _parse_timestamp(ts_text)
    except ValueError as exc:
        raise CheckpointError(f"malformed checkpoint: timestamp: {exc}") from None
    return Checkpoint(origin=origin, tree_size=tree_size, root_hash=root_hash, timestamp=timestamp)


def _check_key_name(key_name: str) -> None:
    # Same rule as signed-note key names: the name sits between spaces on the
    # signature line and before "+" in the verifier key, so neither may occur.
    if (
        not isinstance(key_name, str)
        or not key_name
        or not key_name.isprintable()
        or "+" in key_name
        or any(ch.isspace() for ch in key_name)
    ):
        raise CheckpointKeyError("key name must be non-empty printable text without spaces or '+'")


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _verifier_key_material(public_key: Ed25519PublicKey) -> bytes:
    return _ED25519_ALG + _raw_public_key(public_key)


def compute_key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """Return the 4-byte signed-note key id: SHA-256(name || 0x0A || 0x01 || raw key)[:4]."""
    material = key_name.encode("utf-8") + b"\n" + _verifier_key_material(public_key)
    return hashlib.sha256(material).digest()[:_KEY_ID_SIZE]


class CheckpointSigner:
    """Signs checkpoints with an Ed25519 key held by the log service."""

    def __init__(self, private_key: Ed25519PrivateKey, key_name: str) -> None:
        _check_key_name(key_name)
        self._private_key = private_key
        self._key_name = key_name
        self._key_id = compute_key_id(key_name, private_key.public_key())

    @property
    def key_name(self) -> str:
        return self._key_name

    def sign(self, cp: Checkpoint) -> str:
        """Return the complete signed checkpoint text (body, blank line, signature line)."""
        body = format_checkpoint_body(cp)
        signature = self._private_key.sign(body.encode("utf-8"))
        return f"{body}\n{_SIG_PREFIX}{self._key_name} {_b64encode(self._key_id + signature)}\n"

    def public_key_text(self) -> str:
        """Return the verifier key to hand to auditors, in signed-note verifier-key form.

        Format: ``<key name>+<key id as 8 lowercase hex digits>+<base64(0x01 || raw
        32-byte Ed25519 public key)>``, e.g. ``referral-audit+1a2b3c4d+AXX...``.
        It contains no secret; ``CheckpointVerifier.from_verifier_key`` reads it.
        """
        raw = _verifier_key_material(self._private_key.public_key())
        return f"{self._key_name}+{self._key_id.hex()}+{_b64encode(raw)}"

    @classmethod
    def generate_key_file(cls, path: Path) -> None:
        """Create a new Ed25519 key at ``path`` as unencrypted PKCS#8 PEM, mode 0600.

        Refuses (CheckpointKeyError) to overwrite an existing file or follow a
        symlink there: replacing the key would silently fork the log's identity.
        """
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            # The mode is applied at creation, so the key is never readable by
            # others, not even between open() and a later chmod().
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CheckpointKeyError(f"refusing to overwrite existing key file {path}") from None
        except OSError as exc:
            raise CheckpointKeyError(f"cannot create key file {path}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            # A truncated key file would block the next attempt via O_EXCL.
            path.unlink(missing_ok=True)
            raise

    @classmethod
    def from_key_file(cls, path: Path, key_name: str) -> Self:
        """Load a key written by ``generate_key_file``.

        Raises CheckpointKeyError if the file is missing, not a regular file,
        accessible to group or others, or not an Ed25519 PKCS#8 PEM key.
        """
        try:
            # O_NONBLOCK: a FIFO planted at the path must not hang startup; it is
            # rejected as not a regular file right below.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise CheckpointKeyError(f"cannot open key file {path}: {exc.strerror}") from None
        try:
            # fstat on the open descriptor checks the file actually read, not
            # whatever the path points to a moment later.
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise CheckpointKeyError(f"key file {path} is not a regular file")
            if st.st_mode & 0o077:
                raise CheckpointKeyError(
                    f"key file {path} has mode {stat.S_IMODE(st.st_mode):04o}; it must not be "
                    "accessible by group or others (chmod 600)"
                )
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(_MAX_KEY_FILE_LEN + 1)
        finally:
            os.close(fd)
        if len(data) > _MAX_KEY_FILE_LEN:
            raise CheckpointKeyError(f"key file {path} is too large to be a key")
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise CheckpointKeyError(f"key file {path} is not an unencrypted PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointKeyError(f"key file {path} does not hold an Ed25519 key")
        return cls(key, key_name)


class CheckpointVerifier:
    """Verifies checkpoints signed by one known Ed25519 key."""

    def __init__(self, public_key: Ed25519PublicKey, key_name: str) -> None:
        _check_key_name(key_name)
        self._public_key = public_key
        self._key_name = key_name
        self._key_id = compute_key_id(key_name, public_key)

    @property
    def key_name(self) -> str:
        return self._key_name

    @classmethod
    def from_verifier_key(cls, text: str) -> Self:
        """Build a verifier from ``CheckpointSigner.public_key_text()`` output.

        Raises CheckpointKeyError if the text is malformed or its key id does not
        match the name and key it carries.
        """
        if not isinstance(text, str):
            raise CheckpointKeyError("malformed verifier key")
        # At most two splits: standard base64 of the key may itself contain "+".
        parts = text.split("+", 2)
        if len(parts) != 3:
            raise CheckpointKeyError("malformed verifier key: expected name+keyid+key")
        key_name, key_id_hex, key_b64 = parts
        _check_key_name(key_name)
        if not _KEY_ID_HEX_RE.fullmatch(key_id_hex):
            raise CheckpointKeyError("malformed verifier key: key id must be 8 lowercase hex digits")
        try:
            raw = _b64decode_canonical(key_b64)
        except ValueError as exc:
            raise CheckpointKeyError(f"malformed verifier key: {exc}") from None
        if len(raw) != 1 + 32 or raw[:1] != _ED25519_ALG:
            raise CheckpointKeyError("malformed verifier key: not an Ed25519 key")
        try:
            public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
        except ValueError:
            raise CheckpointKeyError("malformed verifier key: invalid Ed25519 public key") from None
        verifier = cls(public_key, key_name)
        # The id is redundant with name and key, so a mismatch means corruption
        # or a hand-edited key, never something to accept.
        if verifier._key_id.hex() != key_id_hex:
            raise CheckpointKeyError("malformed verifier key: key id does not match name and key")
        return verifier

    def verify(self, text: str) -> Checkpoint:
        """Check the signature on ``text`` and return the checkpoint it states.

        Raises CheckpointError with "malformed checkpoint", "unknown key" or
        "bad signature" in the message; nothing is returned unless the text is
        canonical and signed by this verifier's key.
        """
        if not isinstance(text, str) or len(text) > _MAX_TEXT_LEN:
            raise CheckpointError("malformed checkpoint: must be text of bounded length")
        lines = text.split("\n")
        # origin, size, root, time, blank, signature, and "" after the final newline.
        if len(lines) != 7 or lines[4] != "" or lines[6] != "":
            raise CheckpointError(
                "malformed checkpoint: expected four body lines, a blank line and one signature line"
            )
        sig_line = lines[5]
        if not sig_line.startswith(_SIG_PREFIX):
            raise CheckpointError(
                "malformed checkpoint: signature line must start with an em dash and a space"
            )
        sig_parts = sig_line[len(_SIG_PREFIX) :].split(" ")
        if len(sig_parts) != 2:
            raise CheckpointError("malformed checkpoint: signature line must be '\u2014 <key name> <base64>'")
        key_name, sig_b64 = sig_parts
        try:
            blob = _b64decode_canonical(sig_b64)
        except ValueError as exc:
            raise CheckpointError(f"malformed checkpoint: signature: {exc}") from None
        if len(blob) != _KEY_ID_SIZE + _SIG_SIZE:
            raise CheckpointError("malformed checkpoint: signature must be 4-byte key id plus 64 bytes")
        if key_name != self._key_name or blob[:_KEY_ID_SIZE] != self._key_id:
            raise CheckpointError(
                f"unknown key: checkpoint signed by {key_name[:64]!r}, expected {self._key_name!r}"
            )
        body = "\n".join(lines[:4]) + "\n"
        try:
            body_bytes = body.encode("utf-8")
        except UnicodeEncodeError:
            raise CheckpointError("malformed checkpoint: body is not valid UTF-8 text") from None
        try:
            self._public_key.verify(blob[_KEY_ID_SIZE:], body_bytes)
        except InvalidSignature:
            raise CheckpointError("bad signature: checkpoint body does not match its signature") from None
        # Parsed only after the signature holds: a validly signed body that is
        # not canonical still indicates a broken signer and is rejected.
        return parse_checkpoint_body(body)
