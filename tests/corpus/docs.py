"""Write ``docs/reference/bad-input-corpus.md``: ``python -m tests.corpus.docs``."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

from tests.corpus.cases import Case, all_cases
from tests.corpus.expected import load_rows, render_markdown
from tests.corpus.world import build_world

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "bad-input-corpus.md"


def kinds_of(cases: list[Case]) -> dict[str, list[str]]:
    """Which kinds each mutation spoils; all twelve read kinds collapse to "every kind"."""
    found: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        found[case.mutation].add(case.kind)
    every = {c.kind for c in cases} - {"any", "file"}
    result = {}
    for mutation, kinds in found.items():
        if every <= kinds:
            kinds = (kinds - every) | {"every kind"}
        result[mutation] = sorted(kinds, key=lambda k: (k != "every kind", k))
    return result


def render(cases: list[Case]) -> str:
    return render_markdown(load_rows(), kinds_of(cases))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        text = render(all_cases(build_world(Path(tmp) / "world")))
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
