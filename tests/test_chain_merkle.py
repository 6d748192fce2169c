"""The Merkle tree against an independent RFC 6962 reference written here from the RFC."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpone_ops import merkle


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _split(n: int) -> int:
    """RFC 6962 §2.1: the largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 6962 §2.1 defines it, recursively."""
    if not d:
        return _h(b"")
    if len(d) == 1:
        return _h(b"\x00" + d[0])
    k = _split(len(d))
    return _h(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) from RFC 6962 §2.1.1."""
    if len(d) == 1:
        return []
    k = _split(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_root_from_path(leaf: bytes, m: int, n: int, path: list[bytes]) -> bytes | None:
    """Rebuild the head top-down from the same split rule; None when the path has a wrong length."""
    if n == 1:
        return _h(b"\x00" + leaf) if not path else None
    if not path:
        return None
    k = _split(n)
    *inner, sibling = path
    if m < k:
        sub = ref_root_from_path(leaf, m, k, inner)
        return None if sub is None else _h(b"\x01" + sub + sibling)
    sub = ref_root_from_path(leaf, m - k, n - k, inner)
    return None if sub is None else _h(b"\x01" + sibling + sub)


def _digests(n: int, salt: bytes = b"") -> list[bytes]:
    return [_h(salt + i.to_bytes(4, "big")) for i in range(n)]


def test_empty_tree_head_is_the_hash_of_nothing() -> None:
    assert merkle.root([]) == ref_mth([]) == _h(b"")


@pytest.mark.parametrize("n", range(1, 101))
def test_every_member_of_a_set_of_size_n_has_a_proof_that_verifies(n: int) -> None:
    leaves = _digests(n, salt=bytes([n]))
    head = merkle.root(leaves)
    assert head == ref_mth(leaves)
    outsider = _h(b"not a member" + bytes([n]))
    for m in range(n):
        path = merkle.inclusion_proof(leaves, m)
        assert path == ref_path(m, leaves)
        assert ref_root_from_path(leaves[m], m, n, path) == head
        assert merkle.verify_inclusion(leaves[m], m, n, path, head)
        # A non-member cannot use a member's proof, at any position.
        assert not merkle.verify_inclusion(outsider, m, n, path, head)
        assert ref_root_from_path(outsider, m, n, path) != head
        # Neither can the member claim another position or tree size.
        if n > 1:
            assert not merkle.verify_inclusion(leaves[m], (m + 1) % n, n, path, head)


@settings(max_examples=100, deadline=None)
@given(
    leaves=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=100),
    outsider=st.binary(min_size=32, max_size=32),
    data=st.data(),
)
def test_random_sets_match_the_reference_and_reject_non_members(
    leaves: list[bytes], outsider: bytes, data: st.DataObject
) -> None:
    head = merkle.root(leaves)
    assert head == ref_mth(leaves)
    m = data.draw(st.integers(0, len(leaves) - 1))
    path = merkle.inclusion_proof(leaves, m)
    assert path == ref_path(m, leaves)
    assert merkle.verify_inclusion(leaves[m], m, len(leaves), path, head)
    if outsider not in leaves:
        for position in range(len(leaves)):
            assert not merkle.verify_inclusion(outsider, position, len(leaves),
                                               merkle.inclusion_proof(leaves, position), head)
    if path:
        tampered = [bytes([path[0][0] ^ 1]) + path[0][1:], *path[1:]]
        assert not merkle.verify_inclusion(leaves[m], m, len(leaves), tampered, head)
        assert not merkle.verify_inclusion(leaves[m], m, len(leaves), path[:-1], head)


def test_a_leaf_index_outside_the_tree_has_no_proof() -> None:
    with pytest.raises(IndexError):
        merkle.inclusion_proof(_digests(3), 3)
    assert not merkle.verify_inclusion(_digests(1)[0], 1, 1, [], merkle.root(_digests(1)))
