"""Run the package check's steps: build, twine check, fresh venv, install, smoke, index.

All I/O of ``package-check`` lives here; :func:`dpone_ops.package_check.evaluate` judges
the :class:`~dpone_ops.package_check.PackageFacts` this returns. A step runs only when what
it needs exists; a step that cannot run is simply absent (the evaluator blocks it).
"""

from __future__ import annotations

import email.parser
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dpone_ops.models.release_gates import DistFile
from dpone_ops.package_check import DEFAULT_INDEX_URL, PackageFacts, StepRun

# Variables that would make the smoke runs test something other than the fresh venv.
_LEAKY_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS", "PYTEST_PLUGINS",
              "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "VIRTUAL_ENV", "PYTHONSTARTUP")


@dataclass(frozen=True)
class RunnerOptions:
    project_dir: Path
    index_url: str = DEFAULT_INDEX_URL
    build_isolation: bool = True
    wheelhouse: Path | None = None
    keep_dist_dir: Path | None = None
    step_timeout: float = 600.0
    index_timeout: float = 15.0


def _run(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float) -> StepRun:
    started = time.monotonic()
    try:
        done = subprocess.run(
            list(command), cwd=cwd, env=dict(env), capture_output=True, text=True,
            errors="replace", timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        return StepRun(tuple(command), None, duration_seconds=time.monotonic() - started,
                       error=f"timed out after {timeout:g} s")
    except OSError as exc:
        return StepRun(tuple(command), None, duration_seconds=time.monotonic() - started,
                       error=f"could not start: {exc.strerror or exc}")
    return StepRun(tuple(command), done.returncode, done.stdout, done.stderr,
                   time.monotonic() - started)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}


def _index_env() -> dict[str, str]:
    # The index check must ask exactly --index-url: pip config files, PIP_* variables,
    # find-links and extra indexes would answer from local copies and hide an outage.
    env = {k: v for k, v in _clean_env().items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    if "PIP_CERT" in os.environ:
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    return env


def _venv_executable(venv: Path, name: str) -> Path:
    scripts = venv / ("Scripts" if sys.platform == "win32" else "bin")
    suffix = ".exe" if sys.platform == "win32" else ""
    return scripts / f"{name}{suffix}"


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _dist_files(dist: Path) -> tuple[list[DistFile], Path | None]:
    files: list[DistFile] = []
    wheel: Path | None = None
    for path in sorted(dist.iterdir()):
        kind: Literal["sdist", "wheel"]
        if path.name.endswith(".whl"):
            kind = "wheel"
            wheel = path
        elif path.name.endswith(".tar.gz"):
            kind = "sdist"
        else:
            continue
        files.append(DistFile(filename=path.name, type=kind, sha256=_digest(path),
                              size_bytes=path.stat().st_size))
    return files, wheel


def wheel_metadata(wheel: Path) -> tuple[str | None, str | None]:
    """``Name`` and ``Version`` from the wheel's ``*.dist-info/METADATA``."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = [n for n in archive.namelist()
                     if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if len(names) != 1:
                return None, None
            text = archive.read(names[0]).decode("utf-8", errors="replace")
    except (OSError, zipfile.BadZipFile):
        return None, None
    message = email.parser.Parser().parsestr(text, headersonly=True)
    return message.get("Name"), message.get("Version")


def run_package_check(options: RunnerOptions) -> PackageFacts:
    """Build into a temp dir, install into a fresh venv there, smoke-run, ask the index."""
    runs: dict[str, StepRun] = {}
    env = _clean_env()
    timeout = options.step_timeout
    with tempfile.TemporaryDirectory(prefix="dpone-package-check-") as tmp:
        work = Path(tmp)
        dist, venv, scratch = work / "dist", work / "venv", work / "scratch"
        scratch.mkdir()
        build_cmd = [sys.executable, "-m", "build", "--outdir", str(dist)]
        if not options.build_isolation:
            build_cmd.append("--no-isolation")
        runs["build"] = _run([*build_cmd, str(options.project_dir)], cwd=options.project_dir,
                             env=env, timeout=timeout)
        files, wheel = _dist_files(dist) if dist.is_dir() else ([], None)
        if options.keep_dist_dir is not None and files:
            options.keep_dist_dir.mkdir(parents=True, exist_ok=True)
            for item in files:
                shutil.copy2(dist / item.filename, options.keep_dist_dir / item.filename)
        distribution, version = wheel_metadata(wheel) if wheel else (None, None)
        if files:
            runs["twine_check"] = _run(
                [sys.executable, "-m", "twine", "check", "--strict",
                 *(str(dist / f.filename) for f in files)],
                cwd=scratch, env=env, timeout=timeout)
        # No pip inside: nothing but the interpreter's stdlib, and no ensurepip cost. The
        # outer pip installs into it with --python (pip >= 22.3).
        runs["venv"] = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
                            cwd=scratch, env=env, timeout=timeout)
        python = _venv_executable(venv, "python")
        if wheel is not None and runs["venv"].returncode == 0:
            offline = (["--no-index", "--find-links", str(options.wheelhouse)]
                       if options.wheelhouse is not None else [])
            runs["install"] = _run(
                [sys.executable, "-m", "pip", "--python", str(python), "install",
                 "--disable-pip-version-check",
                 "--no-input", *offline, str(wheel)],
                cwd=scratch, env=env, timeout=timeout)
        if runs.get("install") is not None and runs["install"].returncode == 0:
            # Run from an empty directory so no project ini or conftest is picked up.
            dpone = str(_venv_executable(venv, "dpone"))
            runs["smoke_dpone_help"] = _run([dpone, "--help"], cwd=scratch, env=env,
                                            timeout=timeout)
            runs["smoke_ops_help"] = _run([dpone, "ops", "--help"], cwd=scratch, env=env,
                                          timeout=timeout)
            runs["smoke_pytest_markers"] = _run(
                [str(python), "-m", "pytest", "--markers", "-p", "no:cacheprovider"],
                cwd=scratch, env=env, timeout=timeout)
        if distribution:
            runs["index"] = _run(
                [sys.executable, "-m", "pip", "index", "versions", distribution, "--pre",
                 "--index-url", options.index_url, "--retries", "0",
                 "--timeout", f"{options.index_timeout:g}", "--disable-pip-version-check",
                 "-vv"],
                cwd=scratch, env=_index_env(), timeout=options.index_timeout * 4 + 30)
    return PackageFacts(runs=runs, files=files, distribution=distribution,
                        wheel_version=version, index_url=options.index_url)
