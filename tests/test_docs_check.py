"""``dpone docs check-docs``: each rule catches its defect, and the real docs are clean."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpone_ops import docs_check
from dpone_ops.cli import build_parser, main
from dpone_ops.docs_check import Finding, Page, check_pages
from dpone_ops.models import KINDS
from dpone_ops.models.docs import DocsCheck

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
FENCE = "```"
PARSER = build_parser()
SPECS = docs_check.command_specs(PARSER)


def findings(pages: dict[str, str], *, with_parser: bool = False) -> list[Finding]:
    report = check_pages(
        {path: Page(path, text) for path, text in pages.items()},
        parser=build_parser() if with_parser else None,
        kinds=KINDS,
        other_files=["img/logo.png"],
    )
    return [f for f in report.findings if f.rule != "cli-reference"] if with_parser else (
        report.findings
    )


def test_broken_link_is_reported_with_file_and_line() -> None:
    found = findings({"index.md": "# Home\n\nSee [the guide](guide/missing.md).\n"})
    assert found == [Finding("index.md", 3, "link",
                             "link 'guide/missing.md': no such file guide/missing.md")]


def test_links_to_existing_pages_files_and_outside_urls_pass() -> None:
    pages = {
        "index.md": "# Home\n\n[a](sub/page.md) [b](img/logo.png) [c](https://example.org/x)\n"
                    "[d]: sub/page.md#deep-dive\n",
        "sub/page.md": "# Page\n\n## Deep dive\n\nBack [home](../index.md#home).\n",
    }
    assert findings(pages) == []


def test_link_leaving_the_docs_directory_and_absolute_links_are_reported() -> None:
    found = findings({"index.md": "# H\n\n[up](../README.md) [abs](/index.md)\n"})
    assert [f.rule for f in found] == ["link", "link"]
    assert "leaves the docs directory" in found[1].message
    assert "absolute link" in found[0].message


def test_bad_anchor_is_reported_in_the_same_page_and_across_pages() -> None:
    pages = {
        "index.md": "# Home\n\n## Exit codes\n\n[ok](#exit-codes) [bad](#exit-code)\n"
                    "[far](other.md#nowhere)\n",
        "other.md": "# Other\n",
    }
    found = findings(pages)
    assert [(f.line, f.rule) for f in found] == [(5, "anchor"), (6, "anchor")]
    assert "#exit-code " in found[0].message


def test_links_inside_code_are_not_links() -> None:
    text = "# H\n\n`[x](nope.md)`\n\n" + FENCE + "md\n[y](nope.md)\n" + FENCE + "\n"
    assert findings({"index.md": text}) == []


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Exit codes", "exit-codes"),
        ("`dpone ops certify`: the main job", "dpone-ops-certify-the-main-job"),
        ("Shards (CI matrix) & xdist", "shards-ci-matrix-xdist"),
        ("`service_markers.json`", "service_markersjson"),
        ("Überprüfung — naïve", "uberprufung-naive"),
    ],
)
def test_heading_slugs_follow_mkdocs_toc(heading: str, slug: str) -> None:
    assert slug in docs_check.anchors(f"# {heading}\n")


def test_repeated_headings_get_numbered_ids_and_explicit_ids_count() -> None:
    text = '## Flags\n\n## Flags\n\n## Other {#custom}\n\n<a id="manual"></a>\n'
    assert {"flags", "flags_1", "custom", "manual"} <= docs_check.anchors(text)


def test_emphasis_and_code_in_headings_give_the_ids_mkdocs_gives() -> None:
    ids = docs_check.anchors("# _Z_ and `a_b_`\n\n## Flags\n\n## Flags\n")
    assert {"z-and-a_b_", "flags", "flags_1"} <= ids


def test_a_shell_comment_inside_a_fence_is_not_a_heading() -> None:
    ids = docs_check.anchors("# Real\n\n" + FENCE + "bash\n# before: old way\n" + FENCE + "\n")
    assert "real" in ids
    assert not any(i.startswith("before") for i in ids)


@given(st.text(alphabet="abcXYZ 09-.:()&é!?", min_size=1, max_size=30))
def test_plain_text_slugs_match_the_markdown_toc_extension(text: str) -> None:
    import markdown

    converter = markdown.Markdown(extensions=["toc"])
    converter.convert(f"# {text}")
    tokens = converter.toc_tokens  # type: ignore[attr-defined]
    expected = tokens[0]["id"] if tokens else None
    fallback = docs_check._approximate_anchors(f"# {text}\n")
    if expected is not None and docs_check.slugify(text):
        assert expected in fallback


def test_invalid_yaml_block_is_reported_at_its_line() -> None:
    text = "# H\n\n" + FENCE + "yaml\nname: ci\njobs: [a, b\n" + FENCE + "\n"
    found = findings({"index.md": text})
    assert len(found) == 1
    assert found[0].rule == "yaml"
    assert found[0].path == "index.md"
    assert found[0].line >= 4
    assert found[0].message.startswith("YAML block does not parse")


def test_invalid_json_and_toml_blocks_are_reported() -> None:
    text = (
        "# H\n\n" + FENCE + "json\n{\"a\": 1, \"a\": 2}\n" + FENCE + "\n\n"
        + FENCE + "toml\n[tool.dpone\nprofile = 1\n" + FENCE + "\n\n"
        + FENCE + "json\n{\"n\": NaN}\n" + FENCE + "\n"
    )
    found = findings({"index.md": text})
    assert [(f.line, f.rule) for f in found] == [(4, "json"), (8, "toml"), (13, "json")]
    assert "duplicate key" in found[0].message


def test_valid_structured_blocks_pass() -> None:
    text = (
        "# H\n\n" + FENCE + "yaml\non:\n  push: {}\n---\nsecond: doc\n" + FENCE + "\n\n"
        + FENCE + "toml\n[tool.dpone]\nprofile = \"real_local\"\n" + FENCE + "\n\n"
        + "   " + FENCE + "json\n   {\"a\": [1, 2.5]}\n   " + FENCE + "\n"
    )
    assert findings({"index.md": text}) == []


def test_an_artifact_example_must_validate_against_its_model() -> None:
    example = (
        '{"schema_version": "dpone.release_evidence_pack.v1", "kind": "release_evidence_pack",'
        ' "passed": true}'
    )
    found = findings({"index.md": "# H\n\n" + FENCE + "json\n" + example + "\n" + FENCE + "\n"})
    assert [f.rule for f in found] == ["example"]
    assert "release_evidence_pack does not validate" in found[0].message


def test_unclosed_fence_is_reported() -> None:
    found = findings({"index.md": "# H\n\n" + FENCE + "bash\ndpone ops schema\n"})
    assert [f.rule for f in found] == ["fence"]


def test_doc_command_with_a_misspelt_flag_is_reported() -> None:
    text = (
        "# H\n\n" + FENCE + "bash\n"
        "dpone ops release-evidence-pack --release v1 --profile real_local --ouput-dir out\n"
        + FENCE + "\n"
    )
    found = findings({"index.md": text}, with_parser=True)
    assert len(found) == 1
    assert found[0].rule == "command"
    assert found[0].line == 4
    assert "--ouput-dir" in found[0].message


def test_abbreviated_flags_and_unknown_commands_are_reported() -> None:
    text = (
        "# H\n\n" + FENCE + "console\n$ dpone ops release-evidence-pack --rel v1 --profile p\n"
        "$ dpone ops no-such-command\n" + FENCE + "\n"
    )
    found = findings({"index.md": text}, with_parser=True)
    assert [(f.line, f.rule) for f in found] == [(4, "command"), (5, "command")]


def test_prompts_continuations_placeholders_and_variables_parse() -> None:
    text = (
        "# H\n\n" + FENCE + "bash\n"
        "$ SOURCE_DATE_EPOCH=0 dpone ops release-evidence-pack \\\n"
        "    --release \"$RELEASE\" --profile real_local \\\n"
        "    --artifact service_markers=<dir>/service_markers.json \\\n"
        "    --output-dir out > pack.log && dpone ops schema service_markers | head\n"
        "dpone docs check-docs --docs-dir docs  # comment --not-a-flag\n"
        + FENCE + "\n"
    )
    assert findings({"index.md": text}, with_parser=True) == []


def test_commands_in_workflow_yaml_are_parsed_too() -> None:
    text = (
        "# H\n\n" + FENCE + "yaml\nsteps:\n  - run: dpone ops schema --writedir x\n"
        "  - run: |\n      dpone ops validate-artifact \\\n        a=b.json\n" + FENCE + "\n"
    )
    found = findings({"index.md": text}, with_parser=True)
    assert [(f.line, f.rule) for f in found] == [(5, "command")]
    assert "--writedir" in found[0].message


def test_cli_reference_requires_a_page_with_every_flag_and_no_invented_ones() -> None:
    parser = build_parser()
    specs = docs_check.command_specs(parser)
    schema = next(s for s in specs if s.name == "schema")
    assert schema.options == {"--write-dir"}
    pages = {
        "commands/schema.md": Page(
            "commands/schema.md",
            "# `dpone ops schema`\n\n| flag | meaning |\n|---|---|\n| `--write-dir DIR` | x |\n"
            "| `--pretty` | not a real flag |\n",
        ),
        "commands/frobnicate.md": Page("commands/frobnicate.md", "# x\n"),
        "commands/index.md": Page("commands/index.md", "| `dpone ops schema` | x |\n"),
        "commands/validate-artifact.md": Page("commands/validate-artifact.md",
                                              "# `dpone ops validate-artifact`\n--release\n"),
    }
    found = docs_check.check_cli_reference(specs, pages)
    messages = [(f.path, f.message) for f in found]
    assert ("commands/schema.md", "flag table lists --pretty, which `dpone ops schema` does "
            "not have") in messages
    assert ("commands/frobnicate.md",
            "reference page for a command the parser does not have") in messages
    assert ("commands/validate-artifact.md", "flag --output-dir of `dpone ops validate-artifact` "
            "is not documented on its page") in messages
    assert ("commands/release-evidence-pack.md",
            "`dpone ops release-evidence-pack` has no reference page") in messages
    assert ("commands/index.md",
            "the command index does not list `dpone ops validate-artifact`") in messages
    assert not any("`dpone ops schema`" in message for path, message in messages
                   if path == "commands/index.md")
    assert not any(path == "commands/schema.md" and "not documented" in message
                   for path, message in messages)


def test_cli_exits_one_with_findings_and_writes_the_artifact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# H\n\n[x](gone.md)\n", encoding="utf-8")
    code = main(["docs", "check-docs", "--docs-dir", str(docs), "--output-dir",
                 str(tmp_path / "out"), "--commit-sha", "c" * 40])
    assert code == 1
    check = DocsCheck.model_validate_json((tmp_path / "out" / "docs_check.json").read_bytes())
    assert "docs.broken_link" in check.blockers
    assert check.evidence_status == "FAIL"
    assert (tmp_path / "out" / "docs_check.md").read_text(encoding="utf-8").startswith(
        "# Documentation check")
    assert f"{docs / 'index.md'}:3: [link]" in capsys.readouterr().err


def test_cli_refuses_a_missing_docs_dir_and_fails_an_empty_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["docs", "check-docs", "--docs-dir", str(tmp_path / "nope")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    code = main(["docs", "check-docs", "--docs-dir", str(tmp_path), "--format", "json",
                 "--commit-sha", "c" * 40])
    assert code == 1
    check = DocsCheck.model_validate_json(capsys.readouterr().out)
    assert "docs.empty" in check.blockers


def test_the_real_docs_have_no_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["docs", "check-docs", "--docs-dir", str(DOCS), "--output-dir", str(tmp_path),
                 "--commit-sha", "c" * 40])
    err = capsys.readouterr().err
    assert code == 0, err
    check = DocsCheck.model_validate_json((tmp_path / "docs_check.json").read_bytes())
    assert check.passed
    assert check.files_checked >= 10


def test_mkdocs_strict_build_succeeds(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site"),
         "--config-file", str(REPO / "mkdocs.yml")],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "site" / "index.html").is_file()
    # The anchors check-docs accepts are ids the built site really has.
    for page in sorted(DOCS.rglob("*.md")):
        relative = page.relative_to(DOCS).with_suffix("")
        built = tmp_path / "site" / (
            relative.parent if relative.name == "index" else relative) / "index.html"
        html_ids = set(re.findall(r'\bid="([^"]+)"', built.read_text(encoding="utf-8")))
        missing = docs_check.anchors(page.read_text(encoding="utf-8")) - html_ids
        assert not missing, f"{page}: ids not in the built page: {sorted(missing)}"


@given(st.text(alphabet=st.sampled_from(list("`~#[]()<>\\|$-: \nabyjsontml=\"'{}.*_!/")) ,
               max_size=200))
def test_any_page_text_gives_findings_never_a_crash(text: str) -> None:
    report = check_pages({"p.md": Page("p.md", text)}, parser=PARSER, kinds=KINDS)
    assert all(f.path in ("p.md", *(s.page for s in SPECS)) for f in report.findings)
    assert all(f.line >= 0 for f in report.findings)


@given(st.lists(st.sampled_from(["dpone", "ops", "schema", "--write-dir", "x", "'a b'", "\\",
                                 "&&", "|", ">", "$V", "<p>", "#", ";", "\n"]), max_size=25))
def test_any_shell_fence_is_parsed_without_a_crash(words: list[str]) -> None:
    fence = docs_check.Fence(lang="bash", line=1, body=" ".join(words))
    for offset, command in docs_check.shown_commands(fence):
        assert offset >= 0
        assert command.startswith("dpone")
