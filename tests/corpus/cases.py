"""Every bad-input case, on disk: committed files, world-derived variants, file pathologies.

A case is one path plus the kind it spoils (``any``: wrong for every kind; ``file``: a
file-system pathology). The pathological ones (65 MiB, FIFO, symlink loop, a symlink that
leaves its directory, 10**5 levels of nesting, a directory) are made at test time.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.corpus import generate
from tests.corpus.world import ROLES, Role, World

CORPUS = Path(__file__).parent
# Gate reports and the chain index depend on this machine and the world's paths, so
# their variants are made from the world's own files instead of being committed.
WORLD_KINDS = {"connector_certification_pack": "certification_pack",
               "performance_certification": "performance_certification",
               "live_state_reconciliation": "live_state_reconciliation",
               "pre_release_checklist": "pre_release_checklist",
               "evidence_chain_index": "evidence_chain"}
# File-level cases (no content to judge): even a command that chains bytes refuses them.
FILE_LEVEL = ("missing", "directory", "fifo", "symlink-loop", "dangling-symlink",
              "symlink-out-of-dir")
OVERSIZED_BYTES = 65 * 1024 * 1024
NESTING = 100_000


@dataclass(frozen=True)
class Case:
    id: str  # "<kind>/<mutation>"
    kind: str  # an artifact kind, "any" or "file"
    mutation: str
    path: Path

    @property
    def file_level(self) -> bool:
        return self.kind == "file" and self.mutation in FILE_LEVEL


def committed_cases() -> list[Case]:
    return [Case(f"{d.name}/{f.stem}", d.name, f.stem, f)
            for d in sorted((CORPUS / "bad").iterdir()) for f in sorted(d.glob("*.json"))]


def world_cases(world: World) -> list[Case]:
    """Variants of the world's gate reports and index, written beside the originals."""
    cases = []
    for kind, slot in WORLD_KINDS.items():
        original = world.file(slot)
        for name, payload in generate.variants(kind, original.read_bytes()).items():
            mutation = name.removesuffix(".json")
            path = original.parent / f"variant-{kind}-{name}"
            path.write_bytes(payload)
            cases.append(Case(f"{kind}/{mutation}", kind, mutation, path))
    return cases


def file_cases(world: World) -> list[Case]:
    base = world.root / "file-cases"
    (base / "dir.json").mkdir(parents=True)
    os.mkfifo(base / "fifo.json")
    os.symlink("loop.json", base / "loop.json")
    os.symlink("nowhere.json", base / "dangling.json")
    # A valid artifact, but reached through a link that leaves the link's directory.
    os.symlink(world.file("service_markers"), base / "escape.json")
    with (base / "oversized.json").open("wb") as handle:  # sparse: costs no disk
        handle.truncate(OVERSIZED_BYTES)
    (base / "nested.json").write_text("[" * NESTING + "]" * NESTING, encoding="ascii")
    made = {"missing": base / "absent.json", "directory": base / "dir.json",
            "fifo": base / "fifo.json", "symlink-loop": base / "loop.json",
            "dangling-symlink": base / "dangling.json",
            "symlink-out-of-dir": base / "escape.json",
            "oversized-65mib": base / "oversized.json",
            "nested-100000-levels": base / "nested.json"}
    return [Case(f"file/{name}", "file", name, path) for name, path in made.items()]


def all_cases(world: World) -> list[Case]:
    return [*committed_cases(), *world_cases(world), *file_cases(world)]


def applies(case: Case, role: Role) -> bool:
    """Whether ``role`` reads inputs of the case's kind."""
    if role.files_only:
        return case.file_level
    if case.kind in ("any", "file") or role.id == "validate-artifact":
        return True
    return role.kind == case.kind


def slot_for(case: Case, role: Role) -> str:
    if role.id == "validate-artifact" and case.kind not in ("any", "file"):
        return case.kind
    return role.slot


def argv_for(world: World, case: Case, role: Role, out: Path) -> list[str]:
    """The role's green invocation with the case's file in place of its input."""
    path = case.path
    if role.id == "benchmark-baseline update --baseline" and path.is_file() \
            and not path.is_symlink():
        # update rewrites the baseline in place: give it a copy, never the corpus file.
        path = out / "benchmark_baseline.json"
        shutil.copyfile(case.path, path)
    argv = role.argv(world, path, out)
    if role.id == "validate-artifact":
        argv[1] = f"{slot_for(case, role)}={path}"
    return argv


def pairs(world: World) -> list[tuple[Case, Role]]:
    return [(case, role) for case in all_cases(world) for role in ROLES if applies(case, role)]
