"""The expected-outcomes table (``bad/EXPECTED.toml``) and its Markdown rendering."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest itself depends on tomli below 3.11
    import tomli as tomllib

from tests.corpus.world import ROLES, Role

TABLE = Path(__file__).parent / "bad" / "EXPECTED.toml"
DOC_TITLE = "Bad-input corpus"


@dataclass(frozen=True)
class Expect:
    """What one role must do with one case; ``code`` None means not applicable."""

    code: int | None
    blocker: str | None = None
    detail: str | None = None
    why: str | None = None


@dataclass(frozen=True)
class Row:
    mutation: str
    what: str
    outcome: str
    detail: str | None
    roles: dict[str, str]

    def expect(self, role: Role, slot: str) -> Expect:
        override = self.roles.get(role.id)
        if override is not None:
            if override.startswith("n/a:"):
                return Expect(None, why=override[4:].strip())
            code, _, blocker = override.partition(":")
            return Expect(int(code), blocker or None, self.detail)
        if role.mode == "exit2":
            return Expect(2, None, self.detail)
        return Expect(1, f"{slot}.{self.outcome}", self.detail)


def load_rows(path: Path = TABLE) -> dict[str, Row]:
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    rows: dict[str, Row] = {}
    known = {r.id for r in ROLES}
    for raw in data["case"]:
        row = Row(raw["mutation"], raw["what"], raw["outcome"], raw.get("detail"),
                  dict(raw.get("roles", {})))
        assert row.mutation not in rows, f"{row.mutation} listed twice"
        unknown = set(row.roles) - known
        assert not unknown, f"{row.mutation}: unknown roles {unknown}"
        rows[row.mutation] = row
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(rows: dict[str, Row], kinds_of: dict[str, list[str]]) -> str:
    """The docs page: one line per mutation, the kinds it spoils, the outcome per command."""
    refusing = [r.id for r in ROLES if r.mode == "exit2"]
    lines = [
        f"# {DOC_TITLE}",
        "",
        "<!-- Generated from tests/corpus/bad/EXPECTED.toml by tests/test_reliab_corpus.py; "
        "do not edit by hand. -->",
        "",
        "Every file below is fed to every `dpone ops` command that reads artifacts, with all "
        "of the command's other inputs green, so the bad file is the only thing that can "
        "turn the verdict red. None is ever green, none produces a traceback, and a run "
        "that refuses its input (exit 2) leaves the output directory byte-for-byte as it "
        "was.",
        "",
        "**Commands that judge** (exit 1 and the blocker `<slot>.<outcome>` in the report): "
        + ", ".join(f"`{r.id}`" for r in ROLES if r.mode == "blocker") + ".",
        "",
        "**Commands that refuse** (exit 2 and one line `dpone: error: ...` on stderr): "
        + ", ".join(f"`{r}`" for r in refusing) + ". `evidence-chain --artifact` chains "
        "bytes, not content: it refuses only the file-level cases (missing, directory, "
        "FIFO, symlinks); the pack judges the content of what was chained. The "
        "`benchmark-slo-gate` and `pre-release-checklist --evidence` reports name the "
        "blocker but not the reader's message.",
        "",
        "The corpus lives in `tests/corpus/bad/` (`any/` is wrong for every kind; "
        "`<kind>/<mutation>.json` spoils one valid artifact in one way). Variants of the "
        "gate reports and of the evidence chain index, and the file-system cases "
        "(65 MiB, FIFO, symlink loop, ...), are made when the test runs.",
        "",
        "Two more readers get the same treatment outside this table: the evidence journal "
        "(`evidence_journal.jsonl`, read by `recover-evidence` and `merge-evidence`) with "
        "22 broken journals in `tests/test_reliab_journal.py`, and `compose-check`'s "
        "compose file and `--schema` in `tests/test_reliab_compose.py`; each is exit 2 "
        "with one line, and nothing is written.",
        "",
        "| case | what it is | kinds | outcome | detail in the message | exceptions |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows.values():
        kinds = ", ".join(kinds_of.get(row.mutation, []))
        exceptions = "; ".join(f"`{role}`: {_cell(value)}" for role, value in row.roles.items())
        lines.append(
            f"| `{row.mutation}` | {_cell(row.what)} | {kinds} | `<slot>.{row.outcome}` "
            f"| {_cell(row.detail or '')} | {exceptions} |"
        )
    lines.append("")
    return "\n".join(lines)
