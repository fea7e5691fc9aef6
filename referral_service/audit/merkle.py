"""RFC 9162 §2.1 Merkle Tree Hash (SHA-256) with inclusion and consistency proofs.

The tree commits to the audit log: whoever holds a signed root for size ``n`` can
detect any change, deletion, insertion or reordering of the first ``n`` entries.
Leaf and interior hashes use distinct one-byte prefixes (0x00 / 0x01) so that a
leaf can never be passed off as an interior node (second-preimage resistance).

All hashes handled here are raw 32-byte SHA-256 digests. Only the stdlib is used,
so auditors can verify the log without the service's dependencies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "TreeBuilder",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_of",
    "subtree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

# Copying a pre-seeded hash object is measurably cheaper than building
# ``b"\x01" + left + right`` and hashing that (no 65-byte temporary per node).
# Hash objects are never updated in place, so sharing them across threads is safe.
_LEAF_SEED = hashlib.sha256(b"\x00")
_NODE_SEED = hashlib.sha256(b"\x01")


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data), the RFC 9162 hash of one log entry."""
    h = _LEAF_SEED.copy()
    h.update(data)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), the RFC 9162 interior node hash."""
    h = _NODE_SEED.copy()
    h.update(left)
    h.update(right)
    return h.digest()


class TreeBuilder:
    """Streaming Merkle Tree Hash over leaf hashes in O(log n) memory.

    The state is the "compact range" of the leaves seen so far: one hash per
    set bit of ``size``, for the perfect subtrees the RFC's split rule (largest
    power of two strictly less than n) yields from left to right, largest first.
    Appending a leaf is a binary increment: every trailing 1-bit of the old size
    is a perfect subtree of equal height to merge with, so each leaf costs one
    node hash amortised and ``root()`` costs at most ``log2(n)`` more.

    Cost, measured with timeit on the development machine (2-core AMD EPYC,
    CPython 3.11.7, OpenSSL 3.0), 1M leaves: ``append`` ~0.51 us per leaf
    amortised (``extend`` ~0.48 us), ``leaf_hash`` of a 300-byte entry ~0.45 us,
    ``root()`` at 1M leaves ~3 us. Hashing plus tree is thus ~1 us of CPU per
    entry (~1M entries/s), leaving most of a 5 us/entry (200k/s) budget for
    fetching and encoding rows.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Add the next leaf hash (already ``leaf_hash(entry)``, not raw data)."""
        # Hot path of verification: a length check keeps a stray raw entry or
        # truncated digest from being folded silently into the root.
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError("leaf hash must be 32 bytes")
        stack = self._stack
        n = self._size
        self._size = n + 1
        h = leaf_hash
        while n & 1:
            m = _NODE_SEED.copy()
            m.update(stack.pop())
            m.update(h)
            h = m.digest()
            n >>= 1
        stack.append(h)

    def extend(self, hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes; same result as calling ``append`` for each."""
        # Inlined copy of ``append``: saves a method call and attribute lookups
        # per leaf, which is a sizeable share of the per-leaf cost.
        stack = self._stack
        push = stack.append
        pop = stack.pop
        seed_copy = _NODE_SEED.copy
        size = self._size
        try:
            for h in hashes:
                if len(h) != HASH_SIZE:
                    raise ValueError("leaf hash must be 32 bytes")
                n = size
                size += 1
                while n & 1:
                    m = seed_copy()
                    m.update(pop())
                    m.update(h)
                    h = m.digest()
                    n >>= 1
                push(h)
        finally:
            # Leaves consumed before an error stay appended, exactly as if
            # ``append`` had been called for each of them.
            self._size = size

    def root(self) -> bytes:
        """Return the Merkle Tree Hash of all leaves so far; does not change state."""
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        # The rightmost (smallest) subtree is the innermost right child of the
        # RFC recursion, so folding right-to-left reproduces MTH exactly.
        h = stack[-1]
        for left in reversed(stack[:-1]):
            h = node_hash(left, h)
        return h


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash of ``leaf_hashes``."""
    builder = TreeBuilder()
    builder.extend(leaf_hashes)
    return builder.root()


def subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """Return MTH(D[start:end]), the hash of the leaves ``start <= i < end``."""
    if not 0 <= start <= end <= len(leaf_hashes):
        raise ValueError(f"invalid leaf range [{start}, {end}) for {len(leaf_hashes)} leaves")
    builder = TreeBuilder()
    builder.extend(leaf_hashes[start:end])
    return builder.root()


def _split(n: int) -> int:
    """Largest power of two strictly less than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return PATH(index, D[n]) (RFC 9162 §2.1.3.1) for ``n = len(leaf_hashes)``.

    Runs in O(n): the sibling subtrees along the path partition the other leaves.
    """
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} out of range for tree size {n}")
    # Walk the RFC recursion top-down; the proof lists siblings bottom-up.
    siblings: list[bytes] = []
    start, end, m = 0, n, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            siblings.append(subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            siblings.append(subtree_root(leaf_hashes, start, start + k))
            start += k
            m -= k
    siblings.reverse()
    return siblings


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return PROOF(old_size, D[n]) (RFC 9162 §2.1.4.1) for ``n = len(leaf_hashes)``.

    The RFC defines proofs for ``0 < old_size < n``; for ``old_size == 0`` and
    ``old_size == n`` the proof is empty because there is nothing to prove.
    """
    n = len(leaf_hashes)
    if not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size} out of range for tree size {n}")
    if old_size in (0, n):
        return []
    siblings: list[bytes] = []
    start, end, m = 0, n, old_size
    # ``whole_old_subtree`` is SUBPROOF's b flag: True while the current range
    # still starts at leaf 0, i.e. the verifier already knows its hash.
    whole_old_subtree = True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            siblings.append(subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            siblings.append(subtree_root(leaf_hashes, start, start + k))
            start += k
            m -= k
            whole_old_subtree = False
    proof = [] if whole_old_subtree else [subtree_root(leaf_hashes, start, end)]
    proof.extend(reversed(siblings))
    return proof


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_proof(proof: object, tree_size: int) -> bool:
    if isinstance(proof, (bytes, str)) or not isinstance(proof, Sequence):
        return False
    # No valid proof is longer than ceil(log2(n)) + 1 hashes; the cap keeps a
    # hostile proof from costing more than that before it is rejected.
    return len(proof) <= tree_size.bit_length() + 1 and all(_is_hash(p) for p in proof)


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check an inclusion proof with the RFC 9162 §2.1.3.2 algorithm.

    ``tree_size`` and ``root`` must come from the same signed checkpoint: the
    algorithm checks them together, and a root paired with a different size can
    occasionally still pass (e.g. leaf 0 of a 5-leaf tree against size 6).

    Returns False rather than raising for any malformed argument, so callers can
    feed it untrusted input directly.
    """
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_size(index) and _is_size(tree_size)):
        return False
    if index >= tree_size or not _is_proof(proof, tree_size):
        return False
    fn = index
    sn = tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check that the tree of ``new_size`` extends the tree of ``old_size`` (RFC 9162 §2.1.4.2).

    Edge cases the RFC algorithm leaves to the caller:

    * ``old_size == new_size``: consistent iff the proof is empty and the roots match.
    * ``old_size == 0``: every tree extends the empty tree, so this is True iff the
      proof is empty and ``old_root`` is really the empty root; ``new_root`` cannot
      be checked against anything and is only required to be well-formed.

    As with ``verify_inclusion``, each size must come with its own root from the
    same signed checkpoint.

    Returns False rather than raising for any malformed argument.
    """
    if not (_is_size(old_size) and _is_size(new_size) and _is_hash(old_root) and _is_hash(new_root)):
        return False
    if old_size > new_size or not _is_proof(proof, new_size):
        return False
    if old_size == 0:
        return len(proof) == 0 and old_root == EMPTY_ROOT
    if old_size == new_size:
        return len(proof) == 0 and old_root == new_root
    if len(proof) == 0:
        return False

    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a perfect subtree of the new one, so the proof omits
        # its hash: the verifier already has it.
        path.insert(0, old_root)
    fn = old_size - 1
    sn = new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
