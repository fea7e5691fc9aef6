"""LocalKeyringProvider: file safety, parsing, wrapping, rotation and retirement."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from crypto import DecryptionError, KeyProvider, KeyringError, LocalKeyringProvider, UnknownKeyVersionError
from crypto.keys import WrappedDataKey

AAD = b"data-key:v1:" + bytes(16)
MATERIAL = bytes(range(32))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def valid_document() -> dict[str, Any]:
    return {
        "format": 1,
        "current": 2,
        "keks": {"1": b64(b"\x01" * 32), "2": b64(b"\x02" * 32)},
        "index_root_key": b64(b"\x03" * 32),
    }


def write_private(path: Path, content: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(content)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "keyring.json"


@pytest.fixture
def provider(keyring_path: Path) -> LocalKeyringProvider:
    return LocalKeyringProvider.create(keyring_path)


def test_create_writes_a_private_keyring_in_a_private_directory(keyring_path: Path) -> None:
    LocalKeyringProvider.create(keyring_path)
    assert mode_of(keyring_path) == 0o600
    assert mode_of(keyring_path.parent) == 0o700
    document = json.loads(keyring_path.read_text())
    assert document["format"] == 1
    assert document["current"] == 1
    assert set(document["keks"]) == {"1"}
    assert len(base64.b64decode(document["keks"]["1"])) == 32
    assert len(base64.b64decode(document["index_root_key"])) == 32
    assert document["keks"]["1"] != document["index_root_key"]
    assert os.listdir(keyring_path.parent) == ["keyring.json"]


def test_create_refuses_to_overwrite(provider: LocalKeyringProvider, keyring_path: Path) -> None:
    before = keyring_path.read_bytes()
    with pytest.raises(KeyringError, match="already exists"):
        LocalKeyringProvider.create(keyring_path)
    assert keyring_path.read_bytes() == before
    assert os.listdir(keyring_path.parent) == ["keyring.json"]


def test_load_reads_back_what_create_wrote(provider: LocalKeyringProvider, keyring_path: Path) -> None:
    wrapped = provider.wrap(MATERIAL, aad=AAD)
    loaded = LocalKeyringProvider.load(keyring_path)
    assert loaded.unwrap(wrapped, aad=AAD) == MATERIAL
    assert loaded.index_root_key() == provider.index_root_key()
    assert loaded.current_version == 1
    assert loaded.versions() == [1]


def test_load_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="does not exist"):
        LocalKeyringProvider.load(tmp_path / "nope.json")


def test_load_refuses_a_directory(tmp_path: Path) -> None:
    directory = tmp_path / "keyring.json"
    directory.mkdir(mode=0o700)
    with pytest.raises(KeyringError):
        LocalKeyringProvider.load(directory)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o610, 0o601, 0o666, 0o620])
def test_load_refuses_group_or_world_accessible_files(
    provider: LocalKeyringProvider, keyring_path: Path, mode: int
) -> None:
    keyring_path.chmod(mode)
    with pytest.raises(KeyringError, match="group or others"):
        LocalKeyringProvider.load(keyring_path)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_load_accepts_owner_only_files(provider: LocalKeyringProvider, keyring_path: Path, mode: int) -> None:
    keyring_path.chmod(mode)
    assert LocalKeyringProvider.load(keyring_path).versions() == [1]


def _mutated(change: str) -> bytes:
    document = valid_document()
    if change == "not json":
        return b"{not json"
    if change == "not utf-8":
        return b'{"format": 1, "\xff": 1}'
    if change == "list":
        return b"[1, 2]"
    if change == "duplicate version":
        text = json.dumps(document)
        return text.replace('"2":', '"1":').encode()
    if change == "format 2":
        document["format"] = 2
    elif change == "format true":
        document["format"] = True
    elif change == "no format":
        del document["format"]
    elif change == "no current":
        del document["current"]
    elif change == "current as string":
        document["current"] = "2"
    elif change == "current not in keks":
        document["current"] = 3
    elif change == "no keks":
        del document["keks"]
    elif change == "empty keks":
        document["keks"] = {}
    elif change == "version 01":
        document["keks"]["01"] = document["keks"].pop("1")
    elif change == "version 0":
        document["keks"]["0"] = document["keks"].pop("1")
    elif change == "version -1":
        document["keks"]["-1"] = document["keks"].pop("1")
    elif change == "kek not base64":
        document["keks"]["1"] = "***"
    elif change == "kek too short":
        document["keks"]["1"] = b64(b"\x01" * 16)
    elif change == "kek not a string":
        document["keks"]["1"] = 7
    elif change == "no index root key":
        del document["index_root_key"]
    elif change == "index root key too long":
        document["index_root_key"] = b64(b"\x03" * 33)
    return json.dumps(document).encode()


MALFORMATIONS = [
    "not json",
    "not utf-8",
    "list",
    "duplicate version",
    "format 2",
    "format true",
    "no format",
    "no current",
    "current as string",
    "current not in keks",
    "no keks",
    "empty keks",
    "version 01",
    "version 0",
    "version -1",
    "kek not base64",
    "kek too short",
    "kek not a string",
    "no index root key",
    "index root key too long",
]


def test_the_valid_document_used_below_loads(tmp_path: Path) -> None:
    provider = LocalKeyringProvider.load(
        write_private(tmp_path / "k.json", json.dumps(valid_document()).encode())
    )
    assert provider.versions() == [1, 2]
    assert provider.current_version == 2


@pytest.mark.parametrize("change", MALFORMATIONS)
def test_load_refuses_malformed_files(tmp_path: Path, change: str) -> None:
    path = write_private(tmp_path / "k.json", _mutated(change))
    with pytest.raises(KeyringError) as caught:
        LocalKeyringProvider.load(path)
    # Keyring errors end up in logs: they must not quote key material.
    for value in (b64(b"\x01" * 32), b64(b"\x02" * 32), b64(b"\x03" * 32), b64(b"\x01" * 16)):
        assert value not in str(caught.value)


def test_load_or_create_creates_then_loads(keyring_path: Path) -> None:
    created = LocalKeyringProvider.load_or_create(keyring_path)
    loaded = LocalKeyringProvider.load_or_create(keyring_path)
    assert loaded.index_root_key() == created.index_root_key()
    assert mode_of(keyring_path) == 0o600


def test_load_or_create_still_refuses_an_unsafe_existing_file(
    provider: LocalKeyringProvider, keyring_path: Path
) -> None:
    keyring_path.chmod(0o644)
    with pytest.raises(KeyringError, match="group or others"):
        LocalKeyringProvider.load_or_create(keyring_path)


def test_is_a_key_provider(provider: LocalKeyringProvider) -> None:
    assert isinstance(provider, KeyProvider)


def test_wrap_layout_and_round_trip(provider: LocalKeyringProvider) -> None:
    wrapped = provider.wrap(MATERIAL, aad=AAD)
    assert wrapped.kek_version == 1
    assert len(wrapped.blob) == 12 + 32 + 16
    assert MATERIAL not in wrapped.blob
    assert provider.unwrap(wrapped, aad=AAD) == MATERIAL
    assert provider.wrap(MATERIAL, aad=AAD).blob != wrapped.blob


def test_unwrap_with_other_aad_fails(provider: LocalKeyringProvider) -> None:
    wrapped = provider.wrap(MATERIAL, aad=AAD)
    with pytest.raises(DecryptionError):
        provider.unwrap(wrapped, aad=b"data-key:v1:" + b"\x01" * 16)


def test_unwrap_of_tampered_or_truncated_blob_fails(provider: LocalKeyringProvider) -> None:
    wrapped = provider.wrap(MATERIAL, aad=AAD)
    for position in range(len(wrapped.blob)):
        blob = bytearray(wrapped.blob)
        blob[position] ^= 1
        with pytest.raises(DecryptionError):
            provider.unwrap(WrappedDataKey(kek_version=1, blob=bytes(blob)), aad=AAD)
    for length in range(len(wrapped.blob)):
        with pytest.raises(DecryptionError):
            provider.unwrap(WrappedDataKey(kek_version=1, blob=wrapped.blob[:length]), aad=AAD)


def test_unwrap_with_unknown_version_names_it(provider: LocalKeyringProvider) -> None:
    wrapped = provider.wrap(MATERIAL, aad=AAD)
    with pytest.raises(
        UnknownKeyVersionError, match=r"version 3 is not in the keyring \(retired or unknown\)"
    ):
        provider.unwrap(WrappedDataKey(kek_version=3, blob=wrapped.blob), aad=AAD)


def test_wrapped_key_relabelled_to_another_version_fails(provider: LocalKeyringProvider) -> None:
    wrapped = provider.wrap(MATERIAL, aad=AAD)
    provider.add_version()
    with pytest.raises(DecryptionError):
        provider.unwrap(WrappedDataKey(kek_version=2, blob=wrapped.blob), aad=AAD)


def test_add_version_persists_and_becomes_current(provider: LocalKeyringProvider, keyring_path: Path) -> None:
    old = provider.wrap(MATERIAL, aad=AAD)
    assert provider.add_version() == 2
    assert provider.current_version == 2
    assert provider.versions() == [1, 2]
    assert provider.wrap(MATERIAL, aad=AAD).kek_version == 2
    assert mode_of(keyring_path) == 0o600
    assert os.listdir(keyring_path.parent) == ["keyring.json"]
    reloaded = LocalKeyringProvider.load(keyring_path)
    assert reloaded.current_version == 2
    assert reloaded.versions() == [1, 2]
    assert reloaded.unwrap(old, aad=AAD) == MATERIAL
    assert reloaded.index_root_key() == provider.index_root_key()


def test_remove_version_refuses_the_current_one(provider: LocalKeyringProvider, keyring_path: Path) -> None:
    with pytest.raises(KeyringError, match="current"):
        provider.remove_version(1)
    assert LocalKeyringProvider.load(keyring_path).versions() == [1]


def test_remove_version_of_unknown_version(provider: LocalKeyringProvider) -> None:
    with pytest.raises(UnknownKeyVersionError, match="version 9"):
        provider.remove_version(9)


def test_remove_version_persists_and_breaks_keys_wrapped_under_it(
    provider: LocalKeyringProvider, keyring_path: Path
) -> None:
    old = provider.wrap(MATERIAL, aad=AAD)
    provider.add_version()
    provider.remove_version(1)
    assert provider.versions() == [2]
    with pytest.raises(UnknownKeyVersionError, match="version 1 "):
        provider.unwrap(old, aad=AAD)
    reloaded = LocalKeyringProvider.load(keyring_path)
    assert reloaded.versions() == [2]
    with pytest.raises(UnknownKeyVersionError, match="version 1 "):
        reloaded.unwrap(old, aad=AAD)
    assert mode_of(keyring_path) == 0o600


def test_version_numbers_are_not_reused_after_removal(provider: LocalKeyringProvider) -> None:
    provider.add_version()
    provider.remove_version(1)
    assert provider.add_version() == 3


def test_failed_persist_leaves_provider_and_file_unchanged(
    provider: LocalKeyringProvider, keyring_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = keyring_path.read_bytes()

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(KeyringError, match="No space left"):
        provider.add_version()
    monkeypatch.undo()
    assert provider.current_version == 1
    assert provider.versions() == [1]
    assert keyring_path.read_bytes() == before
    assert os.listdir(keyring_path.parent) == ["keyring.json"]


def test_repr_shows_no_keys(provider: LocalKeyringProvider) -> None:
    text = repr(provider)
    assert b64(provider.index_root_key()) not in text
    assert "current=1" in text


def test_load_refuses_a_fifo_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    os.mkfifo(path, 0o600)
    with pytest.raises(KeyringError, match="not a regular file"):
        LocalKeyringProvider.load(path)
