"""Fuzz the reader and the chain verifier: nothing escapes, nothing false turns green.

Three strategies: arbitrary JSON (and arbitrary bytes) for the reader; valid artifacts of
every kind with one random edit; and a signed evidence chain with one random edit to the
index or one flipped byte in a chained file, which the verifier must never accept.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dpone_ops.artifact_validation import Binding, FileRead, judge
from dpone_ops.models import KINDS, SLOT_KINDS
from dpone_ops.strict_json import loads_strict
from dpone_ops.writing import canonical_bytes
from tests.corpus import generate
from tests.corpus.cases import WORLD_KINDS
from tests.corpus.world import COMMIT, PROFILE, RELEASE, World, build_world, run

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
BINDING = Binding(release=RELEASE, commit_sha=COMMIT, profile=PROFILE)
SLOTS = sorted({*SLOT_KINDS, "extra_gate"})
KEY = "fuzz-signing-key"

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=16,
)
# Objects that look a little like artifacts, so fuzzing gets past the first checks.
SHAPED = st.fixed_dictionaries(
    {}, optional={"kind": st.sampled_from([*sorted(KINDS), "mystery"]),
                  "schema_version": st.sampled_from([f"dpone.{k}.v1" for k in sorted(KINDS)]),
                  "passed": JSON, "blockers": JSON, "status": JSON, "evidence_status": JSON,
                  "violations": JSON, "release": st.sampled_from([RELEASE, "v9", None])},
)


def _read(payload: bytes) -> FileRead:
    import hashlib

    return FileRead(Path("fuzz.json"), exists=True, regular=True, size_bytes=len(payload),
                    sha256=hashlib.sha256(payload).hexdigest(), payload=payload)


def _strict(payload: bytes) -> Any:
    try:
        return loads_strict(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def assert_not_falsely_green(slot: str, payload: bytes) -> None:
    """The reader never raises; green only for strict JSON that says passed, unbound-clean."""
    status = judge(slot, _read(payload), required=True, binding=BINDING).status
    if not status.passed:
        assert status.blockers
        assert all(code.startswith(f"{slot}.") for code in status.blockers)
        return
    data = _strict(payload)
    assert isinstance(data, dict), status
    assert data.get("passed") is True, status
    for key in ("blockers", "violations", "findings", "errors", "failures"):
        assert data.get(key) in (None, [], {}, 0, ""), status
    for key, want in (("release", RELEASE), ("commit_sha", COMMIT), ("profile", PROFILE)):
        assert data.get(key) in (None, want), status
    kind = data.get("kind")
    if isinstance(kind, str) and kind in KINDS:
        KINDS[kind].model_validate_json(payload)  # a green known kind is a valid model


@SETTINGS
@given(doc=st.one_of(JSON, SHAPED), slot=st.sampled_from(SLOTS))
def test_arbitrary_json_is_never_falsely_green(doc: Any, slot: str) -> None:
    assert_not_falsely_green(slot, json.dumps(doc).encode("utf-8"))


@SETTINGS
@given(payload=st.binary(max_size=200), slot=st.sampled_from(SLOTS))
def test_arbitrary_bytes_never_raise_and_never_pass(payload: bytes, slot: str) -> None:
    assert_not_falsely_green(slot, payload)


# --- valid artifacts with one random edit ---------------------------------------------


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@st.composite
def edited(draw: st.DrawFn, seed: dict[str, Any]) -> dict[str, Any]:
    """``seed`` with one value replaced, one key removed, or one key added somewhere."""
    doc = copy.deepcopy(seed)
    path = draw(st.sampled_from([p for p in _paths(doc) if p]))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "remove" and isinstance(parent, dict):
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=8))] = draw(JSON)
    else:
        parent[last] = draw(JSON | st.sampled_from([True, False, 0, -1, 2**60, "", []]))
    return doc


SEEDS = {kind: json.loads(payload) for kind, payload in generate.seeds().items()}
# The gate reports and the chain index come from a world built at test time.
WORLD_SEEDS = dict(WORLD_KINDS)


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(sorted({*SEEDS, *WORLD_SEEDS})))
def test_a_valid_artifact_with_one_edit_is_green_only_if_it_still_validates(
    signed_world: World, data: st.DataObject, kind: str
) -> None:
    seed = SEEDS.get(kind) or json.loads(signed_world.file(WORLD_SEEDS[kind]).read_bytes())
    doc = data.draw(edited(seed))
    payload = canonical_bytes(doc)
    assert_not_falsely_green(kind, payload)
    if doc.get("passed") is not True or doc.get("blockers"):
        status = judge(kind, _read(payload), required=True, binding=BINDING).status
        assert not status.passed


# --- the chain verifier -----------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_world() -> Iterator[World]:
    with tempfile.TemporaryDirectory() as tmp:
        world = build_world(Path(tmp) / "world")
        out = world.root / "signed"
        key_file = world.root / "key"
        key_file.write_text(KEY, encoding="utf-8")
        signed = run([*world.chain_argv(out), "--signing-key-file", str(key_file)])
        assert signed.code == 0, signed.stderr
        yield world


def _verify(world: World, index: Path) -> int:
    out = index.parent / "verification"
    return run(["evidence-chain-verify", "--index", str(index), "--release", RELEASE,
                "--key-file", str(world.root / "key"), "--output-dir", str(out)]).code


def test_the_untouched_signed_chain_verifies(signed_world: World) -> None:
    assert _verify(signed_world, signed_world.root / "signed" / "evidence_chain_index.json") == 0


@SETTINGS
@given(data=st.data())
def test_any_edit_to_a_signed_index_is_never_verified(signed_world: World,
                                                      data: st.DataObject) -> None:
    original_path = signed_world.root / "signed" / "evidence_chain_index.json"
    original = json.loads(original_path.read_bytes())
    doc = data.draw(edited(original))
    if doc == original:
        return
    with tempfile.NamedTemporaryFile(dir=original_path.parent, suffix=".json",
                                     delete=False) as handle:
        handle.write(canonical_bytes(doc))
    edited_path = Path(handle.name)
    try:
        assert _verify(signed_world, edited_path) in (1, 2)
    finally:
        edited_path.unlink()


@SETTINGS
@given(data=st.data())
def test_a_flipped_byte_in_any_chained_file_is_never_verified(signed_world: World,
                                                              data: st.DataObject) -> None:
    index = signed_world.root / "signed" / "evidence_chain_index.json"
    entries = json.loads(index.read_bytes())["entries"]
    entry = data.draw(st.sampled_from(entries))
    target = (index.parent / entry["path"]).resolve()
    original = target.read_bytes()
    position = data.draw(st.integers(0, len(original) - 1))
    flipped = bytearray(original)
    flipped[position] ^= data.draw(st.integers(1, 255))
    try:
        target.write_bytes(bytes(flipped))
        assert _verify(signed_world, index) == 1
    finally:
        target.write_bytes(original)
