"""Check the documentation the way a reader would use it (``dpone docs check-docs``).

The checks are pure functions over file texts, so each one is tested on a string:

* every fenced ``yaml`` / ``json`` / ``toml`` block parses (JSON strictly, like artifacts);
* a JSON block that claims a known artifact ``kind`` validates against that kind's model;
* every internal link resolves to a file under the docs directory, and every ``#anchor``
  to a heading (slugged the way mkdocs' ``toc`` extension slugs it) or an explicit id;
* every ``dpone ...`` command shown in a shell fence (or a ``run:`` line of a YAML fence)
  parses with the real argument parser — nothing is executed;
* the CLI reference: each command has its page ``commands/<command>.md`` naming every one
  of its flags, a flag table on that page lists no flag the command does not have, and
  ``commands/index.md`` lists every command.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

COMMANDS_DIR = "commands"
YAML_LANGS = frozenset({"yaml", "yml"})
JSON_LANGS = frozenset({"json"})
TOML_LANGS = frozenset({"toml"})
SHELL_LANGS = frozenset({"bash", "console", "shell", "sh", "shell-session", "zsh"})
# Stands in for `<placeholder>` and `$VAR` so an example parses; "1" suits ints and paths.
DUMMY = "1"
RULE_BLOCKERS: dict[str, str] = {
    "fence": "docs.unclosed_fence",
    "yaml": "docs.invalid_yaml",
    "json": "docs.invalid_json",
    "toml": "docs.invalid_toml",
    "example": "docs.invalid_example",
    "link": "docs.broken_link",
    "anchor": "docs.broken_anchor",
    "command": "docs.bad_command",
    "cli-reference": "docs.cli_reference",
}


@dataclass(frozen=True, order=True)
class Finding:
    """One problem, located as ``path:line`` (path relative to the docs directory)."""

    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class Fence:
    """A fenced code block: its language, the line of its opening fence and its body."""

    lang: str
    line: int
    body: str
    closed: bool = True


@dataclass(frozen=True)
class Page:
    path: str  # POSIX path relative to the docs directory
    text: str


@dataclass(frozen=True)
class CommandSpec:
    """What the parser knows about one command: its page, flags and nested subcommands."""

    group: str
    name: str
    options: frozenset[str]
    subcommands: tuple[str, ...] = ()

    @property
    def page(self) -> str:
        return f"{COMMANDS_DIR}/{self.name}.md"


# --- Markdown structure -------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^(?P<indent> {0,3}|\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def parse_fences(text: str) -> list[Fence]:
    """Every fenced block, with the 1-based line number of its opening fence."""
    fences: list[Fence] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if not match or (match["fence"][0] == "`" and "`" in match["info"]):
            i += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        info = match["info"].strip().lstrip("{").lstrip(".")
        lang = info.split()[0].rstrip("}").lower() if info else ""
        body: list[str] = []
        j = i + 1
        closed = False
        while j < len(lines):
            candidate = lines[j].strip()
            if candidate.startswith(fence[0] * len(fence)) and not candidate.strip(fence[0]):
                closed = True
                break
            # Content of an indented fence loses at most the fence's own indentation.
            line = lines[j]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            j += 1
        fences.append(Fence(lang=lang, line=i + 1, body="\n".join(body), closed=closed))
        i = j + 1
    return fences


def prose_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, text)`` of every line outside fenced blocks, inline code blanked."""
    fenced: set[int] = set()
    for fence in parse_fences(text):
        end = fence.line + fence.body.count("\n") + (2 if fence.body else 1)
        fenced.update(range(fence.line, end + 1))
    result = []
    for number, line in enumerate(text.splitlines(), start=1):
        if number not in fenced:
            result.append((number, _blank_code_spans(line)))
    return result


def _blank_code_spans(line: str) -> str:
    return re.sub(r"(`+)(?:(?!\1).)+?\1", lambda m: " " * len(m.group(0)), line)


def slugify(value: str) -> str:
    """The id mkdocs' ``toc`` extension gives a heading with this text."""
    value = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", value)  # links keep their text
    value = re.sub(r"<[^>]+>", "", value)  # inline HTML is dropped
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(?P<text>.*?)(?:\s+#+)?\s*$")
_ATTR_ID = re.compile(r"\s*\{[^}]*#(?P<id>[\w\-:.]+)[^}]*\}\s*$")
_HTML_ID = re.compile(r"""\b(?:id|name)\s*=\s*["'](?P<id>[^"']+)["']""")


def anchors(text: str) -> set[str]:
    """Every id a link can target: heading ids exactly as mkdocs makes them, and ``id=``.

    With the ``markdown`` package (it comes with mkdocs) the page is rendered with the
    ``toc`` and ``attr_list`` extensions, so ids match the built site, repeats (``_1``) and
    emphasis included; without it a plain-text approximation is used.
    """
    try:
        import markdown
    except ImportError:
        return _approximate_anchors(text)
    html = markdown.Markdown(
        extensions=["toc", "attr_list", "md_in_html", "fenced_code", "tables"]
    ).convert(text)
    return set(re.findall(r"""\b(?:id|name)=["']([^"']+)["']""", html))


def _approximate_anchors(text: str) -> set[str]:
    ids: set[str] = set()
    previous = ""
    for _, line in _raw_prose_lines(text):
        heading = None
        match = _ATX.match(line)
        if match:
            heading = match["text"]
        elif previous.strip() and re.fullmatch(r" {0,3}(=+|-+)\s*", line) and not (
            previous.lstrip().startswith(("-", "*", "|", ">"))
        ):
            heading = previous.strip()
        if heading is not None:
            explicit = _ATTR_ID.search(heading)
            if explicit:
                ids.add(explicit["id"])
            else:
                base = slugify(heading)
                slug, count = base, 0
                while slug in ids or not slug:
                    count += 1
                    slug = f"{base}_{count}"
                ids.add(slug)
        ids.update(m["id"] for m in _HTML_ID.finditer(line))
        previous = line
    return ids


def _raw_prose_lines(text: str) -> list[tuple[int, str]]:
    fenced: set[int] = set()
    for fence in parse_fences(text):
        end = fence.line + fence.body.count("\n") + (2 if fence.body else 1)
        fenced.update(range(fence.line, end + 1))
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if n not in fenced]


_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?(?P<target>[^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s+.*)?$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def links(text: str) -> list[tuple[int, str]]:
    """``(line, target)`` of every inline link, image and reference definition in prose."""
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(text):
        found.extend((number, m["target"]) for m in _INLINE_LINK.finditer(line))
        ref = _REF_DEF.match(line)
        if ref:
            found.append((number, ref["target"]))
    return found


# --- Individual checks --------------------------------------------------------------------


def check_fences(page: Page, kinds: Mapping[str, Any] | None = None) -> list[Finding]:
    """Structured blocks parse; JSON that claims a known artifact kind validates."""
    findings = []
    for fence in parse_fences(page.text):
        body_line = fence.line + 1
        if not fence.closed:
            findings.append(Finding(page.path, fence.line, "fence", "code fence is never closed"))
        if fence.lang in YAML_LANGS:
            error = _yaml_error(fence.body)
            if error:
                findings.append(Finding(page.path, body_line + error[0], "yaml", error[1]))
        elif fence.lang in JSON_LANGS:
            findings.extend(_check_json(page.path, body_line, fence.body, kinds or {}))
        elif fence.lang in TOML_LANGS:
            message = _toml_error(fence.body)
            if message:
                findings.append(Finding(page.path, body_line, "toml", message))
    return findings


def _yaml_error(body: str) -> tuple[int, str] | None:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - dev extra always has it
        from dpone_ops.errors import UsageError

        raise UsageError("check-docs needs PyYAML: pip install 'pytest-dpone[docs]'") from exc
    try:
        for _ in yaml.safe_load_all(body):
            pass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        offset = mark.line if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        return offset, f"YAML block does not parse: {' '.join(str(problem).split())}"
    return None


def _toml_error(body: str) -> str | None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 uses the backport (the docs extra pulls it in)
        import tomli as tomllib
    try:
        tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        return f"TOML block does not parse: {exc}"
    return None


def _check_json(path: str, line: int, body: str, kinds: Mapping[str, Any]) -> list[Finding]:
    from dpone_ops.strict_json import StrictJSONError, loads_strict

    try:
        data = loads_strict(body)
    except StrictJSONError as exc:
        return [Finding(path, line, "json", f"JSON block does not parse: {exc}")]
    if not (isinstance(data, dict) and "schema_version" in data):
        return []
    kind = data.get("kind")
    model = kinds.get(kind) if isinstance(kind, str) else None
    if model is None:
        return []
    from pydantic import ValidationError

    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        return [Finding(path, line, "example",
                        f"example {kind} does not validate: {where}: {first['msg']}")]
    return []


def check_links(
    page: Page,
    pages: Mapping[str, Page],
    files: frozenset[str] = frozenset(),
    anchors_of: Callable[[Page], set[str]] | None = None,
) -> list[Finding]:
    """Internal links point at pages or ``files`` under the docs directory, and at anchors."""
    anchors_of = anchors_of or (lambda p: anchors(p.text))
    findings = []
    here = PurePosixPath(page.path).parent
    for number, target in links(page.text):
        if not target or _SCHEME.match(target) or target.startswith("//"):
            continue
        path_part, _, anchor = target.partition("#")
        path_part = path_part.split("?", 1)[0]
        if path_part.startswith("/"):
            findings.append(Finding(page.path, number, "link",
                                    f"absolute link {target!r}: use a path relative to the page"))
            continue
        if path_part:
            resolved = _normalise(here / path_part)
            if resolved is None:
                findings.append(Finding(page.path, number, "link",
                                        f"link {target!r} leaves the docs directory"))
                continue
            if resolved not in pages and f"{resolved}/index.md" not in pages and (
                resolved not in files
            ):
                findings.append(Finding(page.path, number, "link",
                                        f"link {target!r}: no such file {resolved}"))
                continue
            target_page = pages.get(resolved) or pages.get(f"{resolved}/index.md")
        else:
            target_page = page
        if anchor and target_page is not None and anchor not in anchors_of(target_page):
            findings.append(Finding(page.path, number, "anchor",
                                    f"link {target!r}: no heading or id #{anchor} in "
                                    f"{target_page.path}"))
    return findings


def _normalise(path: PurePosixPath) -> str | None:
    parts: list[str] = []
    for part in path.parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


# --- Commands -----------------------------------------------------------------------------

_VAR = re.compile(r"\$\{\{[^}]*\}\}|\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER = re.compile(r"<[A-Za-z][^<>\s]*>")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_OPERATORS = frozenset({"&&", "||", ";", "|", "&", ">", ">>", "<", "2>", "2>&1", "(", ")"})


def shown_commands(fence: Fence) -> list[tuple[int, str]]:
    """``(offset in body, command line)`` of every ``dpone ...`` invocation in a fence.

    Shell fences are read line by line; in YAML fences every string value is a script
    (``run: |`` keeps lines, ``run: >-`` folds them), so the YAML is parsed first.
    """
    if fence.lang not in YAML_LANGS:
        return _script_commands(fence.body, fence.body.splitlines(), prompts=True)
    try:
        import yaml

        documents = list(yaml.safe_load_all(fence.body))
    except Exception:  # an unparsable block is reported by the YAML rule
        return []
    commands: list[tuple[int, str]] = []
    for text in _strings(documents):
        if "dpone" in text:
            commands.extend(_script_commands(text, fence.body.splitlines(), prompts=False))
    return commands


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _script_commands(script: str, body_lines: Sequence[str], *, prompts: bool
                     ) -> list[tuple[int, str]]:
    commands = []
    lines = script.splitlines()
    i = 0
    while i < len(lines):
        first = lines[i].strip()
        line = first
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        if prompts and line.startswith("$ "):
            line = line[2:].lstrip()
        for segment in _segments(line):
            if segment and segment[0] == "dpone":
                commands.append((_line_of(first, body_lines),
                                 " ".join(shlex.quote(t) for t in segment)))
    return commands


def _line_of(text: str, body_lines: Sequence[str]) -> int:
    """0-based line of ``body_lines`` where ``text`` (a script line) starts."""
    probe = text[:40]
    for number, line in enumerate(body_lines):
        if probe and probe in line:
            return number
    return 0


def _segments(line: str) -> list[list[str]]:
    """Split one shell line into simple commands, leading ``VAR=value`` assignments dropped."""
    line = _PLACEHOLDER.sub(DUMMY, _VAR.sub(DUMMY, line))
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: not a command we can judge
        return [line.split()]
    segments: list[list[str]] = [[]]
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
            continue
        if token in _OPERATORS or set(token) <= set(";&|()<>"):
            if token in (">", ">>", "<"):
                skip_next = True  # the redirection's file is not an argument
            segments.append([])
            continue
        segments[-1].append(token)
    result = []
    for segment in segments:
        while segment and _ASSIGNMENT.match(segment[0]):
            segment = segment[1:]
        result.append(segment)
    return result


def command_error(parser: argparse.ArgumentParser, command: str) -> str | None:
    """Why the parser refuses ``command`` (``dpone ...``), or None when it parses."""
    from dpone_ops.errors import DponeError

    argv = shlex.split(command)[1:]
    unknown = _unknown_flags(parser, argv)
    if unknown:
        return f"unknown flag(s) {', '.join(unknown)} (flags must be spelt out in full)"
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            parser.parse_args(argv)
    except DponeError as exc:
        return " ".join(str(exc).split())
    except SystemExit as exc:  # --help / --version print and exit 0
        if exc.code not in (0, None):
            return f"parser exited with {exc.code}: {' '.join(sink.getvalue().split())}"
    return None


def _unknown_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """Flags the selected (sub)command does not define; abbreviations count as unknown."""
    current = parser
    unknown = []
    for token in argv:
        if token == "--":
            break
        children = dict(_subparsers(current))
        if token in children:
            current = children[token]
        elif children and not token.startswith("-"):
            break  # an unknown command: argparse names it and the choices
        elif token.startswith("-") and len(token) > 1 and not re.match(r"^-\d", token):
            flag = token.split("=", 1)[0]
            if flag not in current._option_string_actions:
                unknown.append(flag)
    return unknown


def check_commands(page: Page, parse_error: Callable[[str], str | None]) -> list[Finding]:
    findings = []
    for fence in parse_fences(page.text):
        if fence.lang not in SHELL_LANGS | YAML_LANGS:
            continue
        for offset, command in shown_commands(fence):
            error = parse_error(command)
            if error:
                findings.append(Finding(page.path, fence.line + 1 + offset, "command",
                                        f"`{command}` does not parse: {error}"))
    return findings


def command_specs(parser: argparse.ArgumentParser) -> list[CommandSpec]:
    """Every ``dpone <group> <command>``, with the flags of it and its nested subcommands."""
    specs = []
    for group, group_parser in _subparsers(parser):
        for name, command_parser in _subparsers(group_parser):
            options: set[str] = set()
            nested: list[str] = []
            _collect(command_parser, options, nested, prefix=name)
            specs.append(CommandSpec(group=group, name=name, options=frozenset(options),
                                     subcommands=tuple(nested)))
    return sorted(specs, key=lambda s: (s.group, s.name))


def _subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(action.choices.items())
    return found


def _collect(parser: argparse.ArgumentParser, options: set[str], nested: list[str],
             *, prefix: str) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        options.update(action.option_strings)
    for name, child in _subparsers(parser):
        nested.append(f"{prefix} {name}")
        _collect(child, options, nested, prefix=f"{prefix} {name}")


_TABLE_FLAG = re.compile(r"`(--?[A-Za-z][\w-]*)")


def check_cli_reference(specs: Sequence[CommandSpec], pages: Mapping[str, Page]) -> list[Finding]:
    """Each command has its page naming every flag; flag tables list only real flags."""
    findings = []
    by_page = {spec.page: spec for spec in specs}
    for spec in specs:
        page = pages.get(spec.page)
        if page is None:
            findings.append(Finding(spec.page, 0, "cli-reference",
                                    f"`dpone {spec.group} {spec.name}` has no reference page"))
            continue
        if f"dpone {spec.group} {spec.name}" not in page.text:
            findings.append(Finding(spec.page, 1, "cli-reference",
                                    f"page never shows the command `dpone {spec.group} "
                                    f"{spec.name}`"))
        for sub in spec.subcommands:
            if f"dpone {spec.group} {sub}" not in page.text:
                findings.append(Finding(spec.page, 1, "cli-reference",
                                        f"subcommand `dpone {spec.group} {sub}` not documented"))
        documented = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", page.text))
        for option in sorted(spec.options - documented):
            findings.append(Finding(spec.page, 1, "cli-reference",
                                    f"flag {option} of `dpone {spec.group} {spec.name}` is not "
                                    "documented on its page"))
    index = pages.get(f"{COMMANDS_DIR}/index.md")
    if index is not None:
        for spec in specs:
            if f"dpone {spec.group} {spec.name}" not in index.text:
                findings.append(Finding(index.path, 1, "cli-reference",
                                        f"the command index does not list `dpone {spec.group} "
                                        f"{spec.name}`"))
    for path, page in sorted(pages.items()):
        if not path.startswith(f"{COMMANDS_DIR}/") or path.count("/") != 1:
            continue
        owner = by_page.get(path)
        if owner is None:
            if path != f"{COMMANDS_DIR}/index.md":
                findings.append(Finding(path, 1, "cli-reference",
                                        "reference page for a command the parser does not have"))
            continue
        for number, line in _raw_prose_lines(page.text):
            cells = line.strip().strip("|").split("|")
            if not line.lstrip().startswith("|") or len(cells) < 2:
                continue
            for flag in _TABLE_FLAG.findall(cells[0]):
                if flag not in owner.options:
                    findings.append(Finding(path, number, "cli-reference",
                                            f"flag table lists {flag}, which `dpone {owner.group} "
                                            f"{owner.name}` does not have"))
    return findings


# --- The whole check ----------------------------------------------------------------------


@dataclass
class DocsReport:
    files_checked: int
    findings: list[Finding] = field(default_factory=list)


def check_pages(
    pages: Mapping[str, Page],
    *,
    parser: argparse.ArgumentParser | None = None,
    kinds: Mapping[str, Any] | None = None,
    other_files: Iterable[str] = (),
) -> DocsReport:
    """Run every check over the Markdown pages (``path -> Page``); pure, no I/O.

    1. Fenced YAML/JSON/TOML blocks parse; artifact examples validate against their model.
    2. Internal links resolve to a page or file (``other_files``); anchors to a heading.
    3. With a parser: every ``dpone ...`` command shown parses, and the CLI reference
       pages match the parser in both directions.
    """
    files = frozenset(other_files)
    cache: dict[str, set[str]] = {}

    def anchors_of(page: Page) -> set[str]:
        if page.path not in cache:
            cache[page.path] = anchors(page.text)
        return cache[page.path]

    findings: list[Finding] = []
    for page in pages.values():
        findings.extend(check_fences(page, kinds))
        findings.extend(check_links(page, pages, files, anchors_of))
    if parser is not None:
        errors: dict[str, str | None] = {}

        def parse_error(command: str) -> str | None:
            if command not in errors:
                errors[command] = command_error(parser, command)
            return errors[command]

        for page in pages.values():
            findings.extend(check_commands(page, parse_error))
        findings.extend(check_cli_reference(command_specs(parser), pages))
    return DocsReport(files_checked=len(pages), findings=sorted(set(findings)))


def read_docs(docs_dir: Path) -> tuple[dict[str, Page], list[str]]:
    """The Markdown pages under ``docs_dir`` and the relative paths of every other file."""
    pages: dict[str, Page] = {}
    others: list[str] = []
    for path in sorted(docs_dir.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.parts[-1:]):
            continue
        relative = path.relative_to(docs_dir).as_posix()
        if path.suffix == ".md":
            pages[relative] = Page(relative, path.read_text(encoding="utf-8"))
        else:
            others.append(relative)
    return pages, others
