"""Enumerate every blocker code the code can emit and generate ``reference/blocker-codes.md``.

Codes are built all over the code as plain strings (``"chain.link_broken"``), f-strings
(``f"{name}.missing"``) or concatenations; this scans ``dpone_ops`` and ``pytest_dpone``
with :mod:`ast` and turns each into a *template* whose placeholders read ``<name>``. The
runbook's tables add the codes and reasons it gives advice for. ``--check`` exits 1 when
the committed page is stale; ``tests/test_docs_coverage.py`` requires every template to
appear somewhere in ``docs/``.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
PACKAGES = ("dpone_ops", "pytest_dpone")
PAGE = DOCS / "reference" / "blocker-codes.md"

# A code is `<subject>.<reason>`: dotted lowercase identifiers, placeholders allowed.
CODE_SHAPE = re.compile(r"^(?:[a-z][a-z0-9_]*|<[a-z_]+>)(?:\.(?:[a-z][a-z0-9_]*|<[a-z_]+>))+$")
# Dotted strings that are not codes: file names, modules, schema versions, hosts.
NOT_A_REASON = frozenset({
    "json", "jsonl", "md", "py", "toml", "yml", "yaml", "txt", "lock", "log", "xml", "html",
    "whl", "gz", "cfg", "ini", "tmp", "sock", "pid", "local", "com", "org", "io",
    "sh", "exe", "so", "pyc", "zip", "tar", "bz2", "xz", "csv", "env",
    # JSON paths into artifacts, not verdicts.
    "rows", "mean", "median", "stddev", "ops", "value", "name",
})
NOT_A_SUBJECT = frozenset({
    "dpone_ops", "pytest_dpone", "_pytest", "pytest", "xdist", "importlib", "os", "sys",
    "typing", "testcontainers", "collections", "pydantic", "json", "hashlib", "dpone",
    "pytest_benchmark", "cryptography", "psycopg", "filelock", "argparse", "pathlib",
    "subprocess", "docker", "requests", "urllib", "http", "email", "logging", "multiprocessing",
    "concurrent", "self", "args", "config", "item", "report", "session", "tool", "project",
    "www", "github", "pypi", "localhost", "python", "pip", "twine", "build", "mkdocs", "sql",
    "tests", "test", "examples", "api", "setuptools", "hatchling",
})
VERSION_SEGMENT = re.compile(r"^v\d+$")
# A subject/reason that names a kind of thing rather than what went wrong.
NOT_A_CODE_REASONS = frozenset({"v1", "schema", "stdout", "stderr"})


def _placeholder(node: ast.expr) -> str:
    """``<name>`` for the expression inside an f-string's braces."""
    while isinstance(node, ast.Subscript | ast.Call):
        node = node.value if isinstance(node, ast.Subscript) else node.func
    if isinstance(node, ast.Attribute):
        name = node.attr
    elif isinstance(node, ast.Name):
        name = node.id
    else:
        name = "value"
    return f"<{name.strip('_').lower() or 'value'}>"


def _template(node: ast.expr) -> str | None:
    """The string a constant, f-string or ``+`` chain builds, placeholders as ``<name>``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            elif isinstance(value, ast.FormattedValue):
                parts.append(_placeholder(value.value))
            else:  # pragma: no cover - JoinedStr holds only these two
                return None
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else _placeholder(node.left)) + (
            right if right is not None else _placeholder(node.right))
    return None


def looks_like_code(text: str) -> bool:
    if not CODE_SHAPE.match(text):
        return False
    segments = text.split(".")
    subject, reason = segments[0], segments[-1]
    if reason.startswith("<") or reason in NOT_A_REASON or reason in NOT_A_CODE_REASONS:
        return False
    if VERSION_SEGMENT.match(reason) or subject in NOT_A_SUBJECT:
        return False
    return not all(s.startswith("<") for s in segments[:-1]) or len(segments) == 2


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def templates_in_source(source: str) -> set[str]:
    """Blocker-code templates built anywhere in one module's source."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found: set[str] = set()
    nested: set[int] = set()
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in nested:
            continue
        if isinstance(node, ast.JoinedStr | ast.BinOp):
            for child in ast.walk(node):
                if child is not node:
                    nested.add(id(child))
        template = _template(node) if isinstance(node, ast.expr) else None
        if template is not None and looks_like_code(template):
            found.add(template)
    found.update(_runbook_keys(tree))
    return found


def _runbook_keys(tree: ast.Module) -> set[str]:
    """Keys of the runbook's lookup tables: whole codes and ``<subject>.<reason>``."""
    keys: set[str] = set()
    for node in tree.body:
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if not isinstance(target, ast.Name) or not isinstance(value, ast.Dict):
            continue
        name = target.id.upper()
        for key in value.keys:
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                continue
            if "REASON" in name and re.fullmatch(r"[a-z][a-z0-9_]*", key.value):
                keys.add(f"<subject>.{key.value}")
            elif "CODE" in name and looks_like_code(key.value):
                keys.add(key.value)
    return keys


def enumerate_codes(root: Path = ROOT) -> dict[str, list[str]]:
    """Template -> the modules (``dpone_ops/gates.py``) that build it."""
    found: dict[str, set[str]] = {}
    for path in _sources(root):
        relative = path.relative_to(root).as_posix()
        is_runbook = path.name == "runbook.py"
        for template in templates_in_source(path.read_text(encoding="utf-8")):
            if template.startswith("<subject>.") and not is_runbook:
                continue
            found.setdefault(template, set()).add(relative)
    return {code: sorted(modules) for code, modules in sorted(found.items())}


def _sources(root: Path) -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((root / package).rglob("*.py"))


def _runbook_line(template: str) -> str:
    sys.path.insert(0, str(ROOT))
    from dpone_ops import runbook

    sample = re.sub(r"<([a-z_]+)>", lambda m: m.group(1).upper(), template)
    return " ".join(str(runbook.line_for(sample)).split())


def _cell(text: str) -> str:
    """Escape ``|`` outside code spans so a runbook line stays in its table cell."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(p if p.startswith("`") else p.replace("|", "\\|") for p in parts)


def render(codes: dict[str, list[str]]) -> str:
    lines = [
        "# Blocker codes",
        "",
        "<!-- Generated by docs/gen_blocker_codes.py from the code; re-run it after adding a "
        "code. -->",
        "",
        "Every blocker is a stable code `<subject>.<reason>`, sorted and unique in the "
        "`blockers` list of its artifact. The table lists every code template the code can "
        "emit, found by reading the source, with the module that builds it and the runbook "
        "line every report prints for it. A placeholder is named after the variable the code "
        "is built from (`<name>` is usually an artifact slot or a service, `<metric>` a metric, "
        "`<subject>` any subject the runbook has a rule for); each command's page shows its "
        "codes with concrete names, and the [runbook](../runbook.md) explains the failure "
        "codes of each gate in more depth.",
        "",
        "| code | emitted by | what to do |",
        "|---|---|---|",
    ]
    for code, modules in codes.items():
        where = ", ".join(f"`{m}`" for m in modules)
        lines.append(f"| `{code}` | {where} | {_cell(_runbook_line(code))} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    args = parser.parse_args(argv)
    text = render(enumerate_codes())
    if args.check:
        if not PAGE.is_file() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE.relative_to(ROOT)} is stale: run python docs/gen_blocker_codes.py",
                  file=sys.stderr)
            return 1
        return 0
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
