"""RFC 6962 (Certificate Transparency) Merkle tree heads and inclusion proofs.

Leaves and interior nodes are hashed with distinct prefixes (``0x00`` / ``0x01``) so a
leaf can never be passed off as a node. The tree is built bottom-up: a level's unpaired
last node moves up unchanged, which yields exactly RFC 6962's split at the largest power
of two below ``n``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    level = [leaf_hash(leaf) for leaf in leaves]
    levels = [level]
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
        levels.append(level)
    return levels


def root(leaves: Sequence[bytes]) -> bytes:
    """The tree head; the empty tree's head is ``sha256(b"")`` as RFC 6962 defines."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return _levels(leaves)[-1][0]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index``, nearest sibling first."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} outside a tree of {len(leaves)}")
    path: list[bytes] = []
    position = index
    for level in _levels(leaves)[:-1]:
        sibling = position ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        position //= 2
    return path


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """Recompute the head from a leaf's data and its audit path (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < tree_size:
        return False
    node, last = index, tree_size - 1
    current = leaf_hash(leaf)
    for sibling in path:
        if last == 0:
            return False
        if node % 2 == 1 or node == last:
            current = node_hash(sibling, current)
            while node % 2 == 0 and node != 0:
                node >>= 1
                last >>= 1
        else:
            current = node_hash(current, sibling)
        node >>= 1
        last >>= 1
    return last == 0 and current == expected_root
