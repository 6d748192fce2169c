"""``dpone`` command line: ``dpone ops <command>`` and ``dpone docs <command>``.

Handlers are thin: load inputs, call a pure evaluator, write and print. The single
error boundary is :func:`main`: a :class:`~dpone_ops.errors.DponeError` becomes one
line on stderr and exit 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from dpone_ops import __version__
from dpone_ops.errors import DponeError, UsageError

# Each module has ``register(subparsers)`` adding its commands under ``dpone ops``.
OPS_COMMAND_MODULES: tuple[str, ...] = (
    "dpone_ops.commands.artifacts",
    "dpone_ops.commands.evidence",
    "dpone_ops.commands.chain",
    "dpone_ops.commands.pack",
    "dpone_ops.commands.gates",
    "dpone_ops.commands.release_checks",
    "dpone_ops.commands.services",
    "dpone_ops.commands.certify",
)
# Each module has ``register(subparsers)`` adding its commands under ``dpone docs``.
DOCS_COMMAND_MODULES: tuple[str, ...] = ("dpone_ops.commands.docs",)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="dpone", description="Judge pytest-dpone evidence into release verdicts."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="{ops,docs}", parser_class=ArgumentParser)
    groups.required = True
    ops = groups.add_parser("ops", help="evidence gates and the release pack")
    ops_commands = ops.add_subparsers(dest="command", metavar="COMMAND")
    ops_commands.required = True
    for module in OPS_COMMAND_MODULES:
        importlib.import_module(module).register(ops_commands)
    docs = groups.add_parser("docs", help="documentation checks")
    docs_commands = docs.add_subparsers(dest="command", metavar="COMMAND")
    docs_commands.required = True
    for module in DOCS_COMMAND_MODULES:
        importlib.import_module(module).register(docs_commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return 0 passed, 1 not passed, 2 usage error or unusable input."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        result: int = args.handler(args)
    except DponeError as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"dpone: error: {message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # stdout closed early (`dpone ... | head`): not our failure
        return 0
    return result


if __name__ == "__main__":
    sys.exit(main())
