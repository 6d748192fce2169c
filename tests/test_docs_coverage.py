"""The docs cover the code: every blocker code, every CLI flag, every artifact kind.

Each list is enumerated from the code itself, so a new code, flag or kind fails here until
it is documented; the failure message lists exactly what is missing.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from dpone_ops import docs_check
from dpone_ops.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md")))


def template_pattern(template: str) -> re.Pattern[str]:
    """A template's placeholders (``<name>``) match any placeholder the docs use."""
    parts = re.split(r"(<[^<>]+>)", template)
    return re.compile("".join(
        r"<[A-Za-z_][\w-]*>" if part.startswith("<") else re.escape(part) for part in parts
    ))


def test_every_blocker_code_the_code_can_emit_is_documented() -> None:
    codes = load_script("gen_blocker_codes").enumerate_codes(REPO)
    assert "<name>.missing" in codes, "the enumerator no longer finds the basic codes"
    text = docs_text()
    missing = [f"{code} (built in {', '.join(modules)})" for code, modules in codes.items()
               if not template_pattern(code).search(text)]
    assert not missing, "blocker codes not in docs/ (run python docs/gen_blocker_codes.py):\n" + (
        "\n".join(missing))


def test_the_blocker_code_reference_page_is_current() -> None:
    assert load_script("gen_blocker_codes").main(["--check"]) == 0, (
        "docs/reference/blocker-codes.md is stale: run python docs/gen_blocker_codes.py")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('blockers.append(f"{name}.missing")', {"<name>.missing"}),
        ('codes = ["chain.link_broken"]', {"chain.link_broken"}),
        ('code = "service." + svc.name + ".skipped"', {"service.<name>.skipped"}),
        ('x = f"{cls.KIND}.incomplete"', {"<kind>.incomplete"}),
        ('f"state.{backend}.{check}.missing"', {"state.<backend>.<check>.missing"}),
        ('"""Docstring mentions foo.missing."""\npath = "service_markers.json"', set()),
        ('m = "dpone_ops.commands.pack"; v = "dpone.pack.v1"; p = f"{x}.{y}"', set()),
        ('BY_REASON = {"skipped": "run it"}\nBY_CODE = {"evidence_chain.broken": "x"}',
         {"<subject>.skipped", "evidence_chain.broken"}),
    ],
)
def test_blocker_code_enumeration_reads_strings_fstrings_and_concatenation(
    source: str, expected: set[str]
) -> None:
    assert load_script("gen_blocker_codes").templates_in_source(source) == expected


def test_template_placeholders_match_any_placeholder_name() -> None:
    pattern = template_pattern("service.<code_part>.skipped")
    assert pattern.search("| `service.<service>.skipped` |")
    assert not pattern.search("service.postgres.skipped")


def test_every_cli_flag_and_command_is_on_its_reference_page() -> None:
    specs = docs_check.command_specs(build_parser())
    assert {s.name for s in specs} >= {"release-evidence-pack", "check-docs"}
    missing = []
    for spec in specs:
        page = DOCS / spec.page
        text = page.read_text(encoding="utf-8") if page.is_file() else ""
        if f"dpone {spec.group} {spec.name}" not in text:
            missing.append(f"dpone {spec.group} {spec.name}: no page {spec.page} showing it")
        missing.extend(f"dpone {spec.group} {spec.name} {option}: not on {spec.page}"
                       for option in sorted(spec.options) if option not in text)
    assert not missing, "undocumented commands or flags:\n" + "\n".join(missing)


def test_every_artifact_kind_has_a_current_generated_page() -> None:
    problems = load_script("gen_artifacts").problems()
    assert not problems, "run python docs/gen_artifacts.py, then fix:\n" + "\n".join(problems)


def _plugin_vocabulary(pytester: pytest.Pytester, flag: str, *patterns: str
                      ) -> list[set[str]]:
    """Names matching each pattern in ``pytest FLAG`` output that only the plugin adds."""
    with_plugin = pytester.runpytest(flag).stdout.str()
    without = pytester.runpytest("-p", "no:dpone", flag).stdout.str()
    return [set(re.findall(p, with_plugin, re.M)) - set(re.findall(p, without, re.M))
            for p in patterns]


def test_every_plugin_option_ini_key_marker_and_fixture_is_on_the_plugin_page(
    pytester: pytest.Pytester,
) -> None:
    options, ini_keys = _plugin_vocabulary(pytester, "--help", r"(--dpone-[a-z0-9-]+)",
                                           r"^\s+(dpone_[a-z0-9_]+)")
    (markers,) = _plugin_vocabulary(pytester, "--markers", r"@pytest\.mark\.([a-z_]+)")
    (fixtures,) = _plugin_vocabulary(pytester, "--fixtures", r"^(dpone_[a-z_]+)")
    assert "--dpone-evidence-dir" in options, "the plugin registers no --dpone-* options"
    assert "dpone_marker_aliases" in ini_keys
    assert "state_backend" in markers
    assert "dpone_evidence" in fixtures
    page = (DOCS / "plugin.md").read_text(encoding="utf-8")
    missing = sorted(
        [o for o in options | ini_keys if o not in page]
        + [f"@pytest.mark.{m}" for m in markers if f"`{m}" not in page]
        + [f"fixture {f}" for f in fixtures if f"`{f}" not in page]
    )
    assert not missing, "not documented on docs/plugin.md:\n" + "\n".join(missing)
