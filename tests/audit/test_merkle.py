"""Tests for the RFC 9162 Merkle tree against an independent reference written from the RFC text."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referral_service.audit.merkle import (
    EMPTY_ROOT,
    TreeBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    subtree_root,
    verify_consistency,
    verify_inclusion,
)

# --- Reference implementation, deliberately naive: a direct transcription of
# the recursive definitions in RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1, sharing
# no code with the module under test.


def ref_leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def ref_k(n: int) -> int:
    """Largest power of two strictly less than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(entries: Sequence[bytes]) -> bytes:
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return ref_leaf(entries[0])
    k = ref_k(n)
    return ref_node(ref_mth(entries[:k]), ref_mth(entries[k:]))


def ref_path(m: int, entries: Sequence[bytes]) -> list[bytes]:
    n = len(entries)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path(m, entries[:k]), ref_mth(entries[k:])]
    return [*ref_path(m - k, entries[k:]), ref_mth(entries[:k])]


def ref_subproof(m: int, entries: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if b else [ref_mth(entries)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, entries[:k], b), ref_mth(entries[k:])]
    return [*ref_subproof(m - k, entries[k:], False), ref_mth(entries[:k])]


def ref_proof(m: int, entries: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, entries, True)


ENTRIES = [f"audit-event-{i}".encode() for i in range(301)]
LEAVES = [ref_leaf(e) for e in ENTRIES]


def flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 0x01]) + h[1:]


# --- Known answers


def test_empty_root_is_sha256_of_empty_string() -> None:
    expected = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert expected == EMPTY_ROOT
    assert TreeBuilder().root() == expected
    assert root_of([]) == expected


def test_leaf_and_node_hash_use_rfc_domain_separation() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    # Without the prefixes a two-leaf tree would collide with a leaf whose data is l0||l1.
    assert leaf_hash(LEAVES[0] + LEAVES[1]) != node_hash(LEAVES[0], LEAVES[1])


def test_one_leaf_tree_root_is_the_leaf_hash() -> None:
    assert root_of([LEAVES[7]]) == LEAVES[7]


# The classic certificate-transparency test corpus with its published roots,
# an anchor that is independent of both implementations in this file.
CT_ENTRIES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_LEAVES = [leaf_hash(e) for e in CT_ENTRIES]


@pytest.mark.parametrize("size", range(1, 9))
def test_published_ct_roots(size: int) -> None:
    assert root_of(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]
    assert ref_mth(CT_ENTRIES[:size]).hex() == CT_ROOTS[size - 1]


@pytest.mark.parametrize(
    ("index", "proof_hex"),
    [
        (
            0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ],
)
def test_published_ct_inclusion_proofs(index: int, proof_hex: list[str]) -> None:
    proof = [bytes.fromhex(h) for h in proof_hex]
    assert inclusion_proof(index, CT_LEAVES) == proof
    assert verify_inclusion(CT_LEAVES[index], index, 8, proof, bytes.fromhex(CT_ROOTS[7]))


@pytest.mark.parametrize(
    ("old", "new", "proof_hex"),
    [
        (1, 1, []),
        (
            1,
            8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ],
)
def test_published_ct_consistency_proofs(old: int, new: int, proof_hex: list[str]) -> None:
    proof = [bytes.fromhex(h) for h in proof_hex]
    assert consistency_proof(old, CT_LEAVES[:new]) == proof
    old_root = bytes.fromhex(CT_ROOTS[old - 1])
    new_root = bytes.fromhex(CT_ROOTS[new - 1])
    assert verify_consistency(old, new, old_root, new_root, proof)


# --- Tree hash against the reference


def test_streaming_root_matches_reference_at_every_size_0_to_300() -> None:
    builder = TreeBuilder()
    for n in range(301):
        assert builder.size == n
        expected = ref_mth(ENTRIES[:n])
        assert builder.root() == expected, n
        assert root_of(LEAVES[:n]) == expected, n
        builder.append(LEAVES[n])


def test_root_does_not_change_state() -> None:
    probed, unprobed = TreeBuilder(), TreeBuilder()
    for h in LEAVES[:100]:
        probed.append(h)
        unprobed.append(h)
        assert probed.root() == probed.root()
    assert probed.size == unprobed.size == 100
    assert probed.root() == unprobed.root() == ref_mth(ENTRIES[:100])


def test_builder_keeps_one_hash_per_set_bit_of_size() -> None:
    # The O(log n) memory bound: the compact range never grows beyond popcount(size).
    builder = TreeBuilder()
    for n, h in enumerate(LEAVES[:300], start=1):
        builder.append(h)
        assert len(builder._stack) == bin(n).count("1")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=24), max_size=700))
def test_random_trees_match_reference(entries: list[bytes]) -> None:
    assert root_of([leaf_hash(e) for e in entries]) == ref_mth(entries)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=301), st.lists(st.integers(min_value=0, max_value=301)))
def test_extend_in_chunks_equals_append(size: int, cuts: list[int]) -> None:
    bounds = sorted({0, size, *(c for c in cuts if c <= size)})
    chunked = TreeBuilder()
    for lo, hi in itertools.pairwise(bounds):
        chunked.extend(LEAVES[lo:hi])
    one_by_one = TreeBuilder()
    for h in LEAVES[:size]:
        one_by_one.append(h)
    assert chunked.size == one_by_one.size == size
    assert chunked.root() == one_by_one.root() == ref_mth(ENTRIES[:size])


def test_extend_accepts_any_iterable() -> None:
    builder = TreeBuilder()
    builder.extend(iter(LEAVES[:37]))
    assert builder.root() == ref_mth(ENTRIES[:37])


@pytest.mark.parametrize("bad", [b"", b"x" * 31, b"x" * 33, b"x" * 300])
def test_append_rejects_hash_of_wrong_length(bad: bytes) -> None:
    builder = TreeBuilder()
    builder.append(LEAVES[0])
    with pytest.raises(ValueError, match="32 bytes"):
        builder.append(bad)
    assert builder.size == 1
    assert builder.root() == LEAVES[0]


def test_extend_failure_keeps_leaves_before_the_bad_one() -> None:
    builder = TreeBuilder()
    with pytest.raises(ValueError, match="32 bytes"):
        builder.extend([LEAVES[0], LEAVES[1], LEAVES[2], b"raw entry, not a hash"])
    assert builder.size == 3
    assert builder.root() == ref_mth(ENTRIES[:3])


def test_subtree_root_matches_reference_for_all_ranges() -> None:
    leaves = LEAVES[:20]
    for start in range(21):
        for end in range(start, 21):
            assert subtree_root(leaves, start, end) == ref_mth(ENTRIES[start:end])


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (3, 2), (0, 21), (21, 21)])
def test_subtree_root_rejects_bad_range(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="range"):
        subtree_root(LEAVES[:20], start, end)


# --- Tampering with the log is visible in the root


def test_changed_leaf_changes_root() -> None:
    for i in (0, 1, 63, 64, 99):
        tampered = list(ENTRIES[:100])
        tampered[i] = tampered[i] + b"!"
        assert root_of([leaf_hash(e) for e in tampered]) != root_of(LEAVES[:100])


def test_deleted_leaf_changes_root() -> None:
    for i in (0, 50, 98):
        tampered = LEAVES[:i] + LEAVES[i + 1 : 100]
        assert root_of(tampered) != root_of(LEAVES[:100])
        # Nor does it pass for the honest log one entry shorter.
        assert root_of(tampered) != root_of(LEAVES[:99])


def test_inserted_leaf_changes_root() -> None:
    for i in (0, 50, 100):
        tampered = [*LEAVES[:i], leaf_hash(b"forged event"), *LEAVES[i:100]]
        assert root_of(tampered) != root_of(LEAVES[:100])
        assert root_of(tampered) != root_of(LEAVES[:101])


def test_swapped_leaves_change_root() -> None:
    for i, j in ((0, 1), (10, 11), (0, 99), (31, 32)):
        tampered = list(LEAVES[:100])
        tampered[i], tampered[j] = tampered[j], tampered[i]
        assert root_of(tampered) != root_of(LEAVES[:100])


# --- Inclusion proofs


def test_inclusion_proofs_match_reference_and_verify() -> None:
    for n in range(1, 71):
        root = ref_mth(ENTRIES[:n])
        for i in range(n):
            proof = inclusion_proof(i, LEAVES[:n])
            assert proof == ref_path(i, ENTRIES[:n]), (i, n)
            assert verify_inclusion(LEAVES[i], i, n, proof, root), (i, n)


def test_inclusion_fails_for_wrong_leaf_index_or_root() -> None:
    for n in range(1, 71):
        leaves = LEAVES[:n]
        root = root_of(leaves)
        for i in range(n):
            proof = inclusion_proof(i, leaves)
            assert not verify_inclusion(LEAVES[n], i, n, proof, root)
            assert not verify_inclusion(flip(LEAVES[i]), i, n, proof, root)
            assert not verify_inclusion(LEAVES[i], i, n, proof, flip(root))
            assert not verify_inclusion(LEAVES[i], i, n, proof, root_of(LEAVES[: n + 1]))
            for j in range(n + 2):
                if j != i:
                    assert not verify_inclusion(LEAVES[i], j, n, proof, root), (i, j, n)


def test_inclusion_fails_for_wrong_tree_size() -> None:
    # A size is only meaningful together with its root (both come from one
    # signed checkpoint), so each wrong size is paired with that size's root.
    for n in range(1, 71):
        proof_by_index = [inclusion_proof(i, LEAVES[:n]) for i in range(n)]
        for other in {n - 1, n + 1, 2 * n, n // 2} - {0, n}:
            other_root = root_of(LEAVES[:other])
            for i in range(min(n, other)):
                assert not verify_inclusion(LEAVES[i], i, other, proof_by_index[i], other_root), (i, n, other)


def test_inclusion_fails_for_truncated_extended_or_altered_proof() -> None:
    for n in range(1, 71):
        leaves = LEAVES[:n]
        root = root_of(leaves)
        for i in range(n):
            proof = inclusion_proof(i, leaves)
            if proof:
                assert not verify_inclusion(leaves[i], i, n, proof[:-1], root)
                assert not verify_inclusion(leaves[i], i, n, proof[1:], root)
            assert not verify_inclusion(leaves[i], i, n, [*proof, LEAVES[0]], root)
            assert not verify_inclusion(leaves[i], i, n, [LEAVES[0], *proof], root)
            for k in range(len(proof)):
                altered = list(proof)
                altered[k] = flip(altered[k])
                assert not verify_inclusion(leaves[i], i, n, altered, root)


@pytest.mark.parametrize(
    ("leaf", "index", "size", "proof", "root"),
    [
        (LEAVES[0], -1, 4, [], EMPTY_ROOT),
        (LEAVES[0], 4, 4, [], EMPTY_ROOT),
        (LEAVES[0], 0, 0, [], EMPTY_ROOT),
        (LEAVES[0], 0, -3, [], EMPTY_ROOT),
        (LEAVES[0], True, 4, [], EMPTY_ROOT),
        (LEAVES[0], 0, 4, None, EMPTY_ROOT),
        (LEAVES[0], 0, 4, LEAVES[1], EMPTY_ROOT),
        (LEAVES[0], 0, 4, [LEAVES[1][:31]], EMPTY_ROOT),
        (LEAVES[0], 0, 4, ["not bytes"], EMPTY_ROOT),
        (LEAVES[0], 0, 4, [bytearray(32)], EMPTY_ROOT),
        (LEAVES[0][:31], 0, 1, [], LEAVES[0][:31]),
        (LEAVES[0], 0, 1, [], LEAVES[0] + b"\x00"),
        ("text", 0, 1, [], "text"),
        (LEAVES[0], 0, 2**64, [LEAVES[1]] * 10_000, EMPTY_ROOT),
    ],
)
def test_verify_inclusion_returns_false_on_malformed_input(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    assert verify_inclusion(leaf, index, size, proof, root) is False


@pytest.mark.parametrize(("index", "size"), [(-1, 5), (5, 5), (0, 0)])
def test_inclusion_proof_rejects_out_of_range_index(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof(index, LEAVES[:size])


def test_single_leaf_tree_has_empty_inclusion_proof() -> None:
    assert inclusion_proof(0, LEAVES[:1]) == []
    assert verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])
    assert not verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[1])


# --- Consistency proofs


def test_consistency_proofs_match_reference_and_verify() -> None:
    for n in range(1, 41):
        new_root = ref_mth(ENTRIES[:n])
        for m in range(1, n + 1):
            proof = consistency_proof(m, LEAVES[:n])
            expected = [] if m == n else ref_proof(m, ENTRIES[:n])
            assert proof == expected, (m, n)
            assert verify_consistency(m, n, ref_mth(ENTRIES[:m]), new_root, proof), (m, n)


def test_consistency_fails_for_altered_truncated_or_extended_proof() -> None:
    for n in range(2, 41):
        new_root = root_of(LEAVES[:n])
        for m in range(1, n):
            old_root = root_of(LEAVES[:m])
            proof = consistency_proof(m, LEAVES[:n])
            for k in range(len(proof)):
                altered = list(proof)
                altered[k] = flip(altered[k])
                assert not verify_consistency(m, n, old_root, new_root, altered), (m, n, k)
            assert not verify_consistency(m, n, old_root, new_root, proof[:-1]), (m, n)
            assert not verify_consistency(m, n, old_root, new_root, proof[1:]), (m, n)
            assert not verify_consistency(m, n, old_root, new_root, [*proof, LEAVES[0]]), (m, n)


def test_consistency_fails_for_swapped_or_wrong_roots() -> None:
    for n in range(2, 41):
        new_root = root_of(LEAVES[:n])
        for m in range(1, n):
            old_root = root_of(LEAVES[:m])
            proof = consistency_proof(m, LEAVES[:n])
            assert not verify_consistency(m, n, new_root, old_root, proof), (m, n)
            assert not verify_consistency(m, n, flip(old_root), new_root, proof), (m, n)
            assert not verify_consistency(m, n, old_root, flip(new_root), proof), (m, n)


def test_consistency_fails_for_wrong_sizes() -> None:
    # As for inclusion, every claimed size is paired with that size's own root.
    roots = [root_of(LEAVES[:s]) for s in range(42)]
    for n in range(2, 41):
        for m in range(1, n):
            proof = consistency_proof(m, LEAVES[:n])
            for m2, n2 in ((m - 1, n), (m + 1, n), (m, n - 1), (m, n + 1), (n, m)):
                if (m2, n2) == (m, n) or m2 < 1 or m2 >= n2:
                    continue
                assert not verify_consistency(m2, n2, roots[m2], roots[n2], proof), (m, n, m2, n2)


def test_proofs_too_short_for_the_claimed_size_fail() -> None:
    # The proofs still rebuild the honest roots; only the final "sn == 0" check
    # notices that they do not reach the top of a tree twice as large.
    for n in range(1, 41):
        root = root_of(LEAVES[:n])
        for m in range(1, n):
            proof = consistency_proof(m, LEAVES[:n])
            assert not verify_consistency(m, 2 * n, root_of(LEAVES[:m]), root, proof), (m, n)
        for i in range(n):
            assert not verify_inclusion(LEAVES[i], i, 2 * n, inclusion_proof(i, LEAVES[:n]), root), (i, n)


def test_consistency_detects_rewritten_history() -> None:
    # The auditor's view: an old checkpoint, then a new log in which one old entry was altered.
    old_size, new_size = 20, 35
    old_root = root_of(LEAVES[:old_size])
    rewritten = list(LEAVES[:new_size])
    rewritten[7] = leaf_hash(b"altered event")
    proof = consistency_proof(old_size, rewritten)
    assert not verify_consistency(old_size, new_size, old_root, root_of(rewritten), proof)


def test_consistency_edge_cases() -> None:
    root5 = root_of(LEAVES[:5])
    assert verify_consistency(5, 5, root5, root5, [])
    assert not verify_consistency(5, 5, root5, root_of(LEAVES[:4]), [])
    assert not verify_consistency(5, 5, root5, root5, [LEAVES[0]])
    assert consistency_proof(0, LEAVES[:5]) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, root5, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, root5, [LEAVES[0]])
    assert not verify_consistency(0, 5, root5, root5, [])
    assert not verify_consistency(2, 5, root_of(LEAVES[:2]), root5, [])
    assert not verify_consistency(3, 5, root_of(LEAVES[:3]), root5, [])


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "proof"),
    [
        (3, 2, LEAVES[0], LEAVES[1], [LEAVES[2]]),
        (-1, 2, LEAVES[0], LEAVES[1], [LEAVES[2]]),
        (1, -2, LEAVES[0], LEAVES[1], [LEAVES[2]]),
        (True, 2, LEAVES[0], LEAVES[1], [LEAVES[2]]),
        (1, 2, LEAVES[0][:31], LEAVES[1], [LEAVES[2]]),
        (1, 2, LEAVES[0], None, [LEAVES[2]]),
        (1, 2, LEAVES[0], LEAVES[1], None),
        (1, 2, LEAVES[0], LEAVES[1], LEAVES[2]),
        (1, 2, LEAVES[0], LEAVES[1], [LEAVES[2], "x"]),
        (1, 2, LEAVES[0], LEAVES[1], [LEAVES[2][:16]]),
        (1, 2**64, LEAVES[0], LEAVES[1], [LEAVES[2]] * 10_000),
        ("1", 2, LEAVES[0], LEAVES[1], [LEAVES[2]]),
    ],
)
def test_verify_consistency_returns_false_on_malformed_input(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    assert verify_consistency(old, new, old_root, new_root, proof) is False


class _HugeProof(Sequence[bytes]):
    """A proof claiming 10**12 entries that must be rejected on its length alone."""

    def __len__(self) -> int:
        return 10**12

    def __getitem__(self, index: object) -> bytes:  # type: ignore[override]
        raise AssertionError("an oversized proof must not be read")


def test_oversized_proof_is_rejected_without_reading_it() -> None:
    assert verify_inclusion(LEAVES[0], 0, 2**40, _HugeProof(), EMPTY_ROOT) is False
    assert verify_consistency(1, 2**40, LEAVES[0], EMPTY_ROOT, _HugeProof()) is False


@pytest.mark.parametrize("old", [-1, 6])
def test_consistency_proof_rejects_out_of_range_size(old: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        consistency_proof(old, LEAVES[:5])
