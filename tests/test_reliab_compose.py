"""compose-check reads its file like an artifact: a FIFO or a YAML bomb never hangs or crashes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.corpus.world import run


def fifo(path: Path) -> None:
    os.mkfifo(path)


def text(value: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(value, encoding="utf-8")


def oversized(path: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(65 * 1024 * 1024)


# (make the file, detail as the compose file, detail as the --schema JSON file)
CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "a FIFO": (fifo, "not a regular file", "not a regular file"),
    "a directory": (lambda p: p.mkdir(), "a directory", "a directory"),
    "a missing file": (lambda p: None, "not found", "not found"),
    "a symlink loop": (lambda p: os.symlink(p, p), "symlink loop", "symlink loop"),
    "nested 10000 levels": (text("[" * 10_000 + "]" * 10_000), "nested too deeply",
                             "nested too deeply"),
    "invalid UTF-8": (lambda p: p.write_bytes(b"services: \xff\n"), "not UTF-8",
                      "not UTF-8"),
    "a 65 MiB file": (oversized, "limit", "limit"),
    "not YAML / not JSON": (text("services: [\n"), "not valid YAML", "Expecting value"),
}


@pytest.mark.parametrize(("make", "file_detail", "schema_detail"), CASES.values(),
                         ids=CASES.keys())
@pytest.mark.parametrize("flag", ["file", "--schema"])
def test_an_unusable_compose_or_schema_file_is_exit_2_with_one_line(
    tmp_path: Path, make: Callable[[Path], None], file_detail: str, schema_detail: str,
    flag: str,
) -> None:
    path = tmp_path / "input"
    make(path)
    good = Path(__file__).parents[1] / "docker" / "docker-compose.integration.yml"
    argv = (["compose-check", str(path)] if flag == "file"
            else ["compose-check", str(good), "--schema", str(path)])
    result = run(argv)
    assert result.code == 2, result.stdout
    assert result.stderr.startswith("dpone: error: ")
    assert result.stderr.count("\n") == 1
    assert (file_detail if flag == "file" else schema_detail) in result.stderr
