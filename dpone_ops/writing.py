"""Canonical JSON, atomic files and escaped Markdown (SPEC §3.2)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from dpone_ops.errors import InputError, UsageError

OutputFormat = Literal["json", "markdown"]
_FORMAT_ALIASES: dict[str, OutputFormat] = {
    "json": "json",
    "markdown": "markdown",
    "md": "markdown",
}


def parse_format(value: str) -> OutputFormat:
    """``json`` | ``markdown`` (``md`` accepted)."""
    try:
        return _FORMAT_ALIASES[value.strip().lower()]
    except KeyError:
        raise UsageError(f"--format must be json or markdown (md), got {value!r}") from None


def canonical_json(data: Any) -> str:
    """Sorted keys, 2-space indent, UTF-8 text, trailing newline, no NaN/Infinity.

    The text of ``json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False,
    allow_nan=False)``. With ``indent`` the standard library encodes in pure Python through
    nested generators; :func:`_indented` writes the same text about twice as fast for the
    plain JSON values a model dump is made of, and hands anything else to ``json.dumps``.
    """
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    try:
        return _indented(data) + "\n"
    except (_NotPlain, RecursionError):
        # A tuple, a subclass, a non-string key, NaN, a cycle: the library's own rules
        # (and errors) apply.
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False,
                          allow_nan=False) + "\n"


class _NotPlain(Exception):
    """A value :func:`_indented` leaves to ``json.dumps``."""


_string = json.encoder.encode_basestring  # ensure_ascii=False, as json.dumps uses it
_INFINITIES = (float("-inf"), float("inf"))


def _indented(data: Any) -> str:
    parts: list[str] = []
    append = parts.append

    def encode(value: Any, pad: str) -> None:
        kind = type(value)
        if kind is dict:
            if not value:
                append("{}")
                return
            inner = pad + "  "
            separator = "{\n" + inner
            for key in sorted(value):
                if type(key) is not str:
                    raise _NotPlain
                item = value[key]
                # Strings and nulls are most of a receipt's leaves: written in one append.
                if type(item) is str:
                    append(separator + _string(key) + ": " + _string(item))
                elif item is None:
                    append(separator + _string(key) + ": null")
                else:
                    append(separator + _string(key) + ": ")
                    encode(item, inner)
                separator = ",\n" + inner
            append("\n" + pad + "}")
        elif kind is list:
            if not value:
                append("[]")
                return
            inner = pad + "  "
            separator = "[\n" + inner
            for item in value:
                if type(item) is str:
                    append(separator + _string(item))
                else:
                    append(separator)
                    encode(item, inner)
                separator = ",\n" + inner
            append("\n" + pad + "]")
        elif kind is str:
            append(_string(value))
        elif value is None:
            append("null")
        elif value is True:
            append("true")
        elif value is False:
            append("false")
        elif kind is int:
            append(int.__repr__(value))
        elif kind is float and value == value and value not in _INFINITIES:
            append(float.__repr__(value))
        else:
            raise _NotPlain

    encode(data, "")
    return "".join(parts)


def canonical_bytes(data: Any) -> bytes:
    return canonical_json(data).encode("utf-8")


def compact_canonical_bytes(data: Any) -> bytes:
    """Canonical JSON without whitespace: the form that gets hashed."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    text = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write via a temp file in the same directory, fsync, then ``os.replace``.

    A reader sees the old file or the new one, never a torn one; a crash leaves the
    previous file or none.
    """
    atomic_write_files([(path, payload)])


def atomic_write_files(files: Sequence[tuple[Path, bytes]]) -> None:
    """Stage every file (temp file, fsync) before replacing any, so a write that fails
    (disk full, read-only) leaves all the previous files in place, not half a report."""
    staged: list[tuple[str, Path]] = []
    current = files[0][0] if files else None
    try:
        for path, payload in files:
            current = path
            staged.append((_stage(path, payload), path))
        for tmp_name, path in staged:
            current = path
            os.replace(tmp_name, path)
    except (OSError, InputError) as exc:
        for tmp_name, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        if isinstance(exc, InputError):
            raise
        raise InputError(f"cannot write {current}: {exc.strerror or exc}") from None
    for directory in {path.parent for path, _ in files}:
        _fsync_directory(directory)


def _stage(path: Path, payload: bytes) -> str:
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write into {directory}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return tmp_name


def _fsync_directory(directory: Path) -> None:
    # Makes the rename durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, canonical_bytes(data))


_MD_ESCAPES = {
    "\\": "\\\\",
    "|": "\\|",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "[": "\\[",
    "]": "\\]",
    "<": "&lt;",
    ">": "&gt;",
    "&": "&amp;",
    "#": "\\#",
}


def md_escape(value: object) -> str:
    """Make any text safe inside a Markdown table cell or bullet: one line, no markup."""
    text = "" if value is None else str(value)
    text = " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text
    return "".join(_MD_ESCAPES.get(ch, ch) for ch in text)


def md_code(value: object) -> str:
    """Inline code that cannot be broken out of (backticks become plain escaped text)."""
    text = "" if value is None else str(value)
    if "`" in text or "\n" in text or "|" in text:
        return md_escape(text)
    return f"`{text}`"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = [
        "| " + " | ".join(md_escape(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(md_escape(cell) for cell in row) + " |")
    return lines


def md_bool(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def md_blockers(blockers: Sequence[str]) -> list[str]:
    lines = ["## Blockers", ""]
    # Blocker codes are pattern-checked by the models, so they are safe inside backticks.
    lines.extend(f"- `{code}`" for code in blockers)
    if not blockers:
        lines.append("- none")
    return lines


def md_document(title: str, sections: Iterable[Sequence[str]]) -> str:
    """Join a title and sections into one document with a trailing newline."""
    parts = [f"# {md_escape(title)}"]
    for section in sections:
        parts.append("\n".join(section))
    return "\n\n".join(parts) + "\n"


def emit_report(
    *,
    report: BaseModel,
    markdown: str,
    output_dir: Path,
    name: str,
    fmt: OutputFormat,
) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` and print the requested format."""
    json_text = canonical_json(report)
    json_path = output_dir / f"{name}.json"
    md_path = output_dir / f"{name}.md"
    atomic_write_files([(json_path, json_text.encode("utf-8")),
                        (md_path, markdown.encode("utf-8"))])
    sys.stdout.write(json_text if fmt == "json" else markdown)
    sys.stdout.flush()
    return json_path, md_path
