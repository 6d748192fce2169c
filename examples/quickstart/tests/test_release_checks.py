"""Proof for the pre-release checklist of a ``patch`` release, one check per test.

``source_sink_matrix`` is proven by the matrix-cell tests in ``test_pipelines.py``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10: pytest itself depends on the backport
    import tomli as tomllib  # type: ignore[no-redef]
from quickstart_etl import STRATEGIES, __version__
from quickstart_etl.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _commands() -> dict[str, Any]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")  # argparse keeps them here
    return dict(action.choices)


def _readme_commands() -> set[str]:
    return set(re.findall(r"^\s+quickstart-etl (\w+)", README.read_text(), re.MULTILINE))


@pytest.mark.release_check("cli_commands")
@pytest.mark.parametrize("command", ["strategies", "copy"])
def test_every_documented_command_exists_and_has_help(command: str) -> None:
    commands = _commands()
    assert set(commands) == _readme_commands()
    assert command in commands
    assert commands[command].format_help().startswith(f"usage: quickstart-etl {command}")
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "quickstart_etl", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.release_check("run_cli")
def test_the_strategies_command_lists_what_the_library_implements() -> None:
    done = _cli("strategies")
    assert done.returncode == 0, done.stderr
    assert tuple(done.stdout.split()) == STRATEGIES


@pytest.mark.service("postgres")
@pytest.mark.release_check("run_cli")
def test_the_copy_command_moves_a_postgres_table_into_sqlite(
    pg: Any, dpone_service: Any, tmp_path: Path,
) -> None:
    pg.seed("orders", 300)
    sink = tmp_path / "cli.sqlite3"
    argv = ["copy", "--direction", "pg-to-sqlite", "--pg", dpone_service.url, "--sqlite",
            str(sink), "--table", "orders", "--schema", pg.schema, "--strategy",
            "incremental_merge", "--pipeline", "cli_orders"]
    first = _cli(*argv)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["rows_written"] == 300
    again = _cli(*argv)  # nothing new above the watermark: an incremental no-op
    assert json.loads(again.stdout)["rows_written"] == 0
    with sqlite3.connect(sink) as lite:
        assert lite.execute("SELECT count(*), sum(version) FROM orders").fetchone() == (
            300, 300 * 301 // 2)


@pytest.mark.release_check("documentation")
def test_the_readme_documents_what_ships() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count("```") % 2 == 0, "an unclosed code fence"
    assert _readme_commands() == set(_commands())
    assert all(f"`{name}`" in text for name in STRATEGIES)
    for target in re.findall(r"`(tests/[\w/]+\.py)`", text):
        assert (ROOT / target).is_file(), f"README names a missing file {target}"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dpone"]
    assert f"`{config['release_type']}`" in text


@pytest.mark.release_check("package")
def test_the_wheel_builds_with_the_package_the_metadata_and_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hatchling.build import build_wheel

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    monkeypatch.chdir(ROOT)
    wheel = tmp_path / build_wheel(str(tmp_path))
    with zipfile.ZipFile(wheel) as built:
        names = set(built.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = built.read(info).decode()
        entry_points = built.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert {"quickstart_etl/__init__.py", "quickstart_etl/cli.py", "quickstart_etl/copy.py",
            "quickstart_etl/state.py"} <= names
    assert f"Name: {project['name']}" in metadata
    assert f"Version: {project['version']}" in metadata
    assert __version__ == project["version"]
    assert "quickstart-etl = quickstart_etl.cli:main" in entry_points
