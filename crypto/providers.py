"""Key-encryption keys (KEKs): where they live and how data keys are wrapped under them."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import DecryptionError, KeyringError, UnknownKeyVersionError
from crypto.keys import WrappedDataKey

KEK_SIZE = 32
INDEX_ROOT_KEY_SIZE = 32
WRAP_NONCE_SIZE = 12
WRAP_TAG_SIZE = 16
KEYRING_FORMAT = 1
KEYRING_FILE_MODE = 0o600
KEYRING_DIR_MODE = 0o700


@runtime_checkable
class KeyProvider(Protocol):
    """Holds versioned KEKs and the blind-index root key; wraps and unwraps data keys.

    Only wrap/unwrap touch KEKs, and KEKs never leave the provider, so a PKCS#11 HSM provider can
    implement this interface later (wrap/unwrap via C_Encrypt/C_Decrypt with CKM_AES_GCM on a
    non-extractable key; `index_root_key` from a separate, extractable secret).
    """

    @property
    def current_version(self) -> int:
        """Version new data keys are wrapped under."""
        ...

    def versions(self) -> list[int]:
        """All KEK versions still available for unwrapping, ascending."""
        ...

    def wrap(self, material: bytes, *, aad: bytes) -> WrappedDataKey:
        """Encrypt data-key material under the current KEK, bound to `aad`."""
        ...

    def unwrap(self, wrapped: WrappedDataKey, *, aad: bytes) -> bytes:
        """Decrypt data-key material; UnknownKeyVersionError if its KEK version is gone."""
        ...

    def add_version(self) -> int:
        """Create and persist a new KEK version and make it current; returns it."""
        ...

    def remove_version(self, version: int) -> None:
        """Retire a KEK version for good; refuses the current one (KeyringError)."""
        ...

    def index_root_key(self) -> bytes:
        """The 32-byte root key for blind indexes, independent of every KEK."""
        ...


def unknown_version(version: int) -> UnknownKeyVersionError:
    """The error for a KEK version that is not (or no longer) available."""
    return UnknownKeyVersionError(
        f"key-encryption key version {version} is not in the keyring (retired or unknown)"
    )


class LocalKeyringProvider:
    """KEKs in a local JSON file readable only by the service user (mode 0600).

    Format: {"format": 1, "current": N, "keks": {"1": "<base64>", ...}, "index_root_key": "<base64>"}.
    """

    def __init__(self, path: Path, *, current: int, keks: dict[int, bytes], index_root_key: bytes) -> None:
        """Use `create`, `load` or `load_or_create`; this only checks the state it is given."""
        _check_state(path, current, keks, index_root_key)
        self._path = path
        self._current = current
        self._keks = dict(keks)
        self._index_root_key = index_root_key
        self._aeads: dict[int, AESGCM] = {}

    def __repr__(self) -> str:
        versions = self.versions()
        return f"LocalKeyringProvider(path={str(self._path)!r}, current={self._current}, versions={versions})"

    @classmethod
    def create(cls, path: Path) -> Self:
        """Create a new keyring with KEK version 1; refuses to overwrite an existing file."""
        keks = {1: os.urandom(KEK_SIZE)}
        index_root_key = os.urandom(INDEX_ROOT_KEY_SIZE)
        _ensure_private_dir(path.parent)
        _write_new(path, _serialise(1, keks, index_root_key))
        return cls(path, current=1, keks=keks, index_root_key=index_root_key)

    @classmethod
    def load(cls, path: Path) -> Self:
        """Load an existing keyring; refuses missing, malformed, or group/other-accessible files."""
        current, keks, index_root_key = _parse(path, _read_private(path))
        return cls(path, current=current, keks=keks, index_root_key=index_root_key)

    @classmethod
    def load_or_create(cls, path: Path) -> Self:
        """Development convenience: load the keyring, creating it first if it does not exist."""
        # Create first rather than check-then-create, so two processes starting at once cannot race.
        try:
            return cls.create(path)
        except KeyringError:
            if not path.exists():
                raise
        return cls.load(path)

    @property
    def path(self) -> Path:
        """The keyring file."""
        return self._path

    @property
    def current_version(self) -> int:
        """Version new data keys are wrapped under."""
        return self._current

    def versions(self) -> list[int]:
        """All KEK versions in the keyring, ascending."""
        return sorted(self._keks)

    def wrap(self, material: bytes, *, aad: bytes) -> WrappedDataKey:
        """Encrypt `material` under the current KEK: nonce (12) | ciphertext | tag (16)."""
        nonce = os.urandom(WRAP_NONCE_SIZE)
        blob = nonce + self._aead(self._current).encrypt(nonce, material, aad)
        return WrappedDataKey(kek_version=self._current, blob=blob)

    def unwrap(self, wrapped: WrappedDataKey, *, aad: bytes) -> bytes:
        """Decrypt a wrapped key; UnknownKeyVersionError if its KEK version is not in the keyring."""
        if wrapped.kek_version not in self._keks:
            raise unknown_version(wrapped.kek_version)
        blob = wrapped.blob
        if len(blob) < WRAP_NONCE_SIZE + WRAP_TAG_SIZE:
            raise DecryptionError(f"wrapped data key is truncated ({len(blob)} bytes)")
        try:
            return self._aead(wrapped.kek_version).decrypt(
                blob[:WRAP_NONCE_SIZE], blob[WRAP_NONCE_SIZE:], aad
            )
        except InvalidTag:
            version = wrapped.kek_version
            raise DecryptionError(
                f"wrapped data key failed authentication under key-encryption key version {version}"
            ) from None

    def add_version(self) -> int:
        """Create a new KEK version, persist it, and make it current."""
        version = max(self._keks) + 1
        keks = {**self._keks, version: os.urandom(KEK_SIZE)}
        self._persist(version, keks)
        return version

    def remove_version(self, version: int) -> None:
        """Delete a retired KEK version; every data key still wrapped under it becomes unreadable."""
        if version == self._current:
            raise KeyringError(f"refusing to remove the current key-encryption key version {version}")
        if version not in self._keks:
            raise unknown_version(version)
        keks = {v: k for v, k in self._keks.items() if v != version}
        self._persist(self._current, keks)

    def index_root_key(self) -> bytes:
        """The blind-index root key."""
        return self._index_root_key

    def _aead(self, version: int) -> AESGCM:
        aead = self._aeads.get(version)
        if aead is None:
            aead = self._aeads[version] = AESGCM(self._keks[version])
        return aead

    def _persist(self, current: int, keks: dict[int, bytes]) -> None:
        # File first, memory second: if the write fails, the object still matches the file.
        _replace(self._path, _serialise(current, keks, self._index_root_key))
        self._current, self._keks = current, keks
        self._aeads = {v: a for v, a in self._aeads.items() if v in keks}


def _serialise(current: int, keks: dict[int, bytes], index_root_key: bytes) -> bytes:
    document = {
        "format": KEYRING_FORMAT,
        "current": current,
        "keks": {str(v): _b64(k) for v, k in sorted(keks.items())},
        "index_root_key": _b64(index_root_key),
    }
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _check_state(path: Path, current: int, keks: dict[int, bytes], index_root_key: bytes) -> None:
    if not keks or any(len(k) != KEK_SIZE for k in keks.values()):
        raise KeyringError(f"keyring {path}: every key-encryption key must be {KEK_SIZE} bytes")
    if current not in keks:
        raise KeyringError(f"keyring {path}: current version {current} has no key")
    if len(index_root_key) != INDEX_ROOT_KEY_SIZE:
        raise KeyringError(f"keyring {path}: index root key must be {INDEX_ROOT_KEY_SIZE} bytes")


def _read_private(path: Path) -> bytes:
    try:
        # O_NONBLOCK so that a FIFO planted at the path fails the regular-file check instead of hanging.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise KeyringError(f"keyring {path} does not exist") from None
    except OSError as exc:
        raise KeyringError(f"keyring {path} cannot be opened: {exc.strerror}") from None
    try:
        # fstat on the open descriptor, so the file checked is the file read.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyringError(f"keyring {path} is not a regular file")
        if info.st_mode & 0o077:
            raise KeyringError(
                f"keyring {path} has mode {stat.S_IMODE(info.st_mode):04o}; "
                "it must not be accessible to group or others (chmod 600)"
            )
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read()
    except OSError as exc:
        raise KeyringError(f"keyring {path} cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        # Otherwise the last duplicate would silently win, e.g. a hand-edit adding a second "1".
        raise ValueError("duplicate key")
    return document


def _parse(path: Path, raw: bytes) -> tuple[int, dict[int, bytes], bytes]:
    # Messages name the problem, never the content: the file is full of keys.
    try:
        document = json.loads(raw, object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError):
        raise KeyringError(f"keyring {path} is not valid JSON (or has duplicate keys)") from None
    if (
        not isinstance(document, dict)
        or type(document.get("format")) is not int
        or document["format"] != KEYRING_FORMAT
    ):
        raise KeyringError(f"keyring {path} is not a format-{KEYRING_FORMAT} keyring")
    current = document.get("current")
    raw_keks = document.get("keks")
    if type(current) is not int or not isinstance(raw_keks, dict) or not raw_keks:
        raise KeyringError(f"keyring {path} needs an integer 'current' and a non-empty 'keks' object")
    keks: dict[int, bytes] = {}
    for name, value in raw_keks.items():
        if not (name.isascii() and name.isdigit() and str(int(name)) == name and int(name) > 0):
            raise KeyringError(f"keyring {path}: key-encryption key versions must be positive integers")
        keks[int(name)] = _decode_key(path, value, f"key-encryption key version {name}", KEK_SIZE)
    index_root_key = _decode_key(path, document.get("index_root_key"), "index root key", INDEX_ROOT_KEY_SIZE)
    return current, keks, index_root_key


def _decode_key(path: Path, value: object, what: str, size: int) -> bytes:
    try:
        if not isinstance(value, str):
            raise ValueError
        key = base64.b64decode(value.encode("ascii"), validate=True)
    except (ValueError, binascii.Error):
        raise KeyringError(f"keyring {path}: {what} is not valid base64") from None
    if len(key) != size:
        raise KeyringError(f"keyring {path}: {what} must be {size} bytes")
    return key


def _ensure_private_dir(directory: Path) -> None:
    if directory.exists():
        return
    try:
        directory.mkdir(mode=KEYRING_DIR_MODE, parents=True)
        # mkdir's mode is filtered by the umask; be explicit.
        directory.chmod(KEYRING_DIR_MODE)
    except OSError as exc:
        raise KeyringError(f"cannot create keyring directory {directory}: {exc.strerror}") from None


def _write_temp(directory: Path, name: str, data: bytes) -> Path:
    """Write `data` to a fresh 0600 file in `directory`, fsynced; returns its path."""
    for _ in range(8):
        temp = directory / f".{name}.{os.urandom(6).hex()}.tmp"
        try:
            fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), KEYRING_FILE_MODE
            )
        except FileExistsError:
            continue
        try:
            # The umask can only remove bits, but be explicit rather than rely on it.
            os.fchmod(fd, KEYRING_FILE_MODE)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return temp
    raise KeyringError(f"cannot create a temporary file in {directory}")


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable; some platforms cannot open directories, which is not worth failing over.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_new(path: Path, data: bytes) -> None:
    """Atomically create `path` with `data`; never overwrites, never leaves a partial keyring."""
    try:
        temp = _write_temp(path.parent, path.name, data)
        try:
            # link() fails if `path` exists, so creation is atomic and exclusive at once.
            os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    except FileExistsError:
        raise KeyringError(f"keyring {path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise KeyringError(f"cannot create keyring {path}: {exc.strerror}") from None
    _fsync_dir(path.parent)


def _replace(path: Path, data: bytes) -> None:
    """Atomically replace the keyring at `path` with `data`."""
    try:
        temp = _write_temp(path.parent, path.name, data)
        try:
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise KeyringError(f"cannot write keyring {path}: {exc.strerror}") from None
    _fsync_dir(path.parent)
