"""Canonical, atomic, reproducible output and Markdown that hostile text cannot break."""

from __future__ import annotations

import contextlib
import enum
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpone_ops import provenance
from dpone_ops.errors import InputError, UsageError
from dpone_ops.strict_json import StrictJSONError, loads_strict
from dpone_ops.writing import (
    atomic_write_text,
    canonical_json,
    md_escape,
    md_table,
    parse_format,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
@settings(max_examples=200, deadline=None)
def test_canonical_json_round_trips_through_the_strict_reader(value: Any) -> None:
    text = canonical_json(value)
    assert text.endswith("\n")
    assert loads_strict(text) == value
    assert canonical_json(loads_strict(text)) == text


class _Colour(enum.StrEnum):
    RED = "red"


# Beyond plain JSON: what the fast writer must hand to json.dumps unchanged.
odd_values = st.recursive(
    json_values | st.floats() | st.tuples(st.integers()) | st.just(_Colour.RED)
    | st.integers(min_value=-(2**70), max_value=2**70),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.integers() | st.none(), children, max_size=4),
    max_leaves=20,
)


@given(odd_values)
@settings(max_examples=400, deadline=None)
def test_canonical_json_is_exactly_the_text_of_json_dumps(value: Any) -> None:
    try:
        expected = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False,
                              allow_nan=False) + "\n"
    except (ValueError, TypeError) as exc:
        with pytest.raises(type(exc)):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


def test_canonical_json_of_a_cycle_fails_as_json_dumps_does() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        canonical_json({"a": cycle})


@given(st.dictionaries(st.text(max_size=5), st.integers(), min_size=2, max_size=6))
@settings(max_examples=100, deadline=None)
def test_canonical_json_does_not_depend_on_insertion_order(value: dict[str, int]) -> None:
    reversed_value = dict(reversed(list(value.items())))
    assert canonical_json(value) == canonical_json(reversed_value)


def test_canonical_json_keeps_unicode_and_refuses_nan() -> None:
    assert canonical_json({"b": "SKIP≠PASS", "a": 1}) == '{\n  "a": 1,\n  "b": "SKIP≠PASS"\n}\n'
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": float("nan")})


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_strict_reader_never_raises_anything_but_its_own_error(text: str) -> None:
    with contextlib.suppress(StrictJSONError):
        loads_strict(text)


@given(st.text(min_size=1))
@settings(max_examples=300, deadline=None)
def test_escaped_text_stays_in_one_table_cell(text: str) -> None:
    row = md_table(["a", "b"], [[text, "x"]])[2]
    unescaped_pipes = row.replace("\\\\", "").replace("\\|", "")
    assert unescaped_pipes.count("|") == 3
    assert "\n" not in row
    assert "<" not in md_escape(text)
    assert "`" not in md_escape(text).replace("\\`", "")


def test_hostile_summary_cannot_inject_html_or_break_rows() -> None:
    hostile = "ok | injected | <script>alert(1)</script>\n| row | `x`"
    cell = md_escape(hostile)
    assert "<script>" not in cell
    assert "\n" not in cell
    assert "\\|" in cell


def test_atomic_write_leaves_no_temp_files_and_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.json"
    atomic_write_text(target, "first\n")
    atomic_write_text(target, "second\n")
    assert target.read_text() == "second\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.json"]


def test_atomic_write_where_the_directory_cannot_exist_is_an_input_error(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write into"):
        atomic_write_text(blocker / "a.json", "x")


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.json"
    atomic_write_text(target, "previous\n")

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(InputError, match="No space left"):
        atomic_write_text(target, "torn?\n")
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_source_date_epoch_fixes_the_clock() -> None:
    assert provenance.now({"SOURCE_DATE_EPOCH": "0"}) == "1970-01-01T00:00:00Z"
    assert provenance.now({"SOURCE_DATE_EPOCH": "1767225600"}) == "2026-01-01T00:00:00Z"
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        provenance.now({"SOURCE_DATE_EPOCH": "soon"})


def test_commit_sha_comes_from_option_then_git_then_ci(tmp_path: Path) -> None:
    assert provenance.resolve_commit_sha("A" * 40) == "a" * 40
    with pytest.raises(UsageError, match="40 or 64 hex"):
        provenance.resolve_commit_sha("abc")
    assert provenance.resolve_commit_sha(None, cwd=str(tmp_path),
                                         environ={"GITHUB_SHA": "c" * 40}) == "c" * 40
    assert provenance.resolve_commit_sha(None, cwd=str(tmp_path), environ={}) is None


@pytest.mark.parametrize(("value", "expected"),
                         [("json", "json"), ("markdown", "markdown"), ("md", "markdown"),
                          ("MD", "markdown")])
def test_format_accepts_md_alias(value: str, expected: str) -> None:
    assert parse_format(value) == expected


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--format"):
        parse_format("yaml")
