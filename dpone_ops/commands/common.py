"""Flags and parsing shared by every command."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from dpone_ops import provenance
from dpone_ops.errors import UsageError
from dpone_ops.models.base import Stamp
from dpone_ops.writing import parse_format

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,99}$")


def add_output_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output-dir", default=".", type=Path, help="where <name>.json and <name>.md go"
    )
    parser.add_argument(
        "--format",
        default="json",
        type=parse_format,
        help="what to print on stdout: json or markdown (alias md)",
    )


def add_binding_args(parser: argparse.ArgumentParser, *, release_required: bool = False) -> None:
    parser.add_argument("--release", required=release_required, help="release label, e.g. v0.7.1")
    parser.add_argument("--profile", help="certification profile")
    parser.add_argument(
        "--commit-sha",
        help="commit the evidence must belong to (default: git rev-parse HEAD, else CI env)",
    )


def check_name(name: str, *, flag: str) -> str:
    if not NAME_RE.match(name):
        raise UsageError(
            f"{flag}: name {name!r} must start with a letter and use only letters, digits, _ or -"
        )
    return name


def parse_name_path(value: str, *, flag: str = "--artifact") -> tuple[str, Path]:
    """``name=path`` with a safe name and a non-empty path."""
    name, sep, path = value.partition("=")
    name = name.strip()
    if not sep or not name or not path.strip():
        raise UsageError(f"{flag} expects name=path, got {value!r}")
    return check_name(name, flag=flag), Path(path)


def parse_name_paths(values: list[str] | None, *, flag: str = "--artifact") -> dict[str, Path]:
    """Repeated ``name=path`` values; a name given twice is a usage error."""
    result: dict[str, Path] = {}
    for value in values or []:
        name, path = parse_name_path(value, flag=flag)
        if name in result:
            raise UsageError(f"{flag} {name!r} given twice")
        result[name] = path
    return result


def read_name_path_list(path: Path, *, flag: str) -> list[str]:
    """``name=path`` lines of a list file; relative paths are taken from the file's folder.

    Blank lines and lines starting with ``#`` are ignored. Thousands of artifacts are
    cheaper here than as repeated flags, which argparse scans quadratically.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{flag}: cannot read {path}: {exc}") from None
    values = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, target = line.partition("=")
        if not sep or not target.strip():
            raise UsageError(f"{flag}: {path}:{number}: expected name=path, got {line!r}")
        resolved = Path(target.strip())
        if not resolved.is_absolute():
            resolved = path.parent / resolved
        values.append(f"{name.strip()}={resolved}")
    return values


def parse_inline_json_object(value: str | None, *, flag: str) -> dict[str, Any] | None:
    """Strict inline JSON that must be an object (no NaN, no duplicate keys)."""
    if value is None:
        return None
    from dpone_ops.strict_json import StrictJSONError, loads_strict

    try:
        data = loads_strict(value)
    except StrictJSONError as exc:
        raise UsageError(f"{flag}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{flag}: expected a JSON object, got {type(data).__name__}")
    return data


def stamp_from_args(args: argparse.Namespace, *, resolve_commit: bool = True) -> Stamp:
    """Release/profile/commit from the flags, with the clock from SOURCE_DATE_EPOCH."""
    explicit = getattr(args, "commit_sha", None)
    if resolve_commit:
        commit = provenance.resolve_commit_sha(explicit)
    else:
        commit = (
            provenance.validate_commit_sha(explicit, source="--commit-sha") if explicit else None
        )
    return Stamp(
        release=getattr(args, "release", None),
        profile=getattr(args, "profile", None),
        commit_sha=commit,
        generated_at=provenance.now(),
    )


def dump_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
