"""Two pack builds into one output dir: readers never see a torn file (SPEC §3.2).

The documented outcome: each of ``release_evidence_pack.json`` / ``.md`` is at every moment
absent or a complete file written by one of the builds, and no temp file is left behind.
The two files are replaced one after the other, so while two builds race the JSON and the
Markdown may come from different builds; the last build to finish leaves a matching pair.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from dpone_ops.models.pack import ReleaseEvidencePack
from tests.corpus.world import EPOCH, build_world, run

LOOPS = 25
RUNNER = """
import json, sys
from dpone_ops.cli import main
argv = json.loads(sys.argv[1])
for _ in range(int(sys.argv[2])):
    assert main(argv) in (0, 1)
"""


def _reference(argv: list[str], out: Path) -> tuple[bytes, bytes]:
    result = run(argv)
    assert result.code in (0, 1), result.stderr
    return ((out / "release_evidence_pack.json").read_bytes(),
            (out / "release_evidence_pack.md").read_bytes())


def test_two_pack_builds_into_one_dir_never_show_a_torn_file(tmp_path: Path) -> None:
    world = build_world(tmp_path / "world")
    shared = tmp_path / "shared"
    # Build A is green; build B names a chain that is not there: red, other bytes.
    argv_a = world.pack_argv(shared)
    argv_b = world.pack_argv(shared, {"evidence_chain": tmp_path / "absent.json"})
    references = []
    for argv in (argv_a, argv_b):
        references.append(_reference(argv, shared))
        shutil.rmtree(shared)
    json_versions = {r[0] for r in references}
    md_versions = {r[1] for r in references}
    assert len(json_versions) == len(md_versions) == 2

    stop = threading.Event()
    seen: list[str] = []
    torn: list[str] = []

    def read_continuously() -> None:
        while not stop.is_set():
            for name, versions in (("release_evidence_pack.json", json_versions),
                                   ("release_evidence_pack.md", md_versions)):
                try:
                    data = (shared / name).read_bytes()
                except FileNotFoundError:
                    continue
                seen.append(name)
                if data not in versions:
                    torn.append(f"{name}: {len(data)} bytes matching neither build")

    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    env.pop("DPONE_EVIDENCE_KEY", None)
    reader = threading.Thread(target=read_continuously)
    reader.start()
    started = time.monotonic()
    try:
        builds = [subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(["ops", *argv]),
                                    str(LOOPS)], env=env, stderr=subprocess.PIPE, text=True)
                  for argv in (argv_a, argv_b)]
        for build in builds:
            _, err = build.communicate(timeout=120)
            assert build.returncode == 0, err[-2000:]
    finally:
        stop.set()
        reader.join()
    assert time.monotonic() - started < 60
    assert not torn, torn[:5]
    assert len(seen) > 50  # the reader really raced the writers
    final_json = (shared / "release_evidence_pack.json").read_bytes()
    ReleaseEvidencePack.model_validate_json(final_json)
    assert final_json in json_versions
    assert sorted(p.name for p in shared.iterdir()) == ["release_evidence_pack.json",
                                                        "release_evidence_pack.md"]
