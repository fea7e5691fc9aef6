"""A keyring that cannot be created, opened, read or written fails with a KeyringError that says so,
leaves no partial or temporary file behind, and a provider refuses key material of the wrong size."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crypto import KeyringError, LocalKeyringProvider


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_the_provider_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    assert LocalKeyringProvider.create(path).path == path


@pytest.mark.parametrize(
    ("keks", "index_root_key", "message"),
    [
        ({}, bytes(32), "every key-encryption key must be 32 bytes"),
        ({1: bytes(16)}, bytes(32), "every key-encryption key must be 32 bytes"),
        ({1: bytes(32)}, bytes(31), "index root key must be 32 bytes"),
    ],
)
def test_key_material_of_the_wrong_size_is_refused(
    tmp_path: Path, keks: dict[int, bytes], index_root_key: bytes, message: str
) -> None:
    with pytest.raises(KeyringError, match=message):
        LocalKeyringProvider(tmp_path / "k.json", current=1, keks=keks, index_root_key=index_root_key)


def test_a_keyring_below_a_file_cannot_be_created_or_loaded(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    path = blocker / "keys" / "keyring.json"
    with pytest.raises(KeyringError, match="cannot create keyring directory"):
        LocalKeyringProvider.load_or_create(path)
    with pytest.raises(KeyringError, match="cannot be opened"):
        LocalKeyringProvider.load(blocker / "keyring.json")


def test_a_read_error_is_a_keyring_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys" / "keyring.json"
    LocalKeyringProvider.create(path)

    def failing_fdopen(*args: object, **kwargs: object) -> object:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fdopen", failing_fdopen)
    with pytest.raises(KeyringError, match="cannot be read: Input/output error"):
        LocalKeyringProvider.load(path)


def test_a_failed_write_leaves_neither_keyring_nor_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(KeyringError, match=r"cannot create keyring .*: No space left on device"):
        LocalKeyringProvider.create(directory / "keyring.json")
    assert leftovers(directory) == []


def test_a_temporary_name_already_taken_is_skipped_and_a_full_directory_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    taken = directory / f".keyring.json.{bytes(6).hex()}.tmp"
    taken.write_bytes(b"someone else's")
    names = iter([bytes(6), b"\x01" * 6])
    real_urandom = os.urandom

    def predictable(size: int) -> bytes:
        return next(names) if size == 6 else real_urandom(size)

    monkeypatch.setattr(os, "urandom", predictable)
    LocalKeyringProvider.create(directory / "keyring.json")
    assert leftovers(directory) == [taken.name, "keyring.json"]
    assert taken.read_bytes() == b"someone else's"

    # Every attempt finds its name taken: give up rather than loop.
    blocked = directory / f".other.json.{bytes(6).hex()}.tmp"
    blocked.write_bytes(b"")
    monkeypatch.setattr(os, "urandom", lambda size: bytes(size))
    with pytest.raises(KeyringError, match="cannot create a temporary file"):
        LocalKeyringProvider.create(directory / "other.json")
    assert leftovers(directory) == [taken.name, blocked.name, "keyring.json"]
