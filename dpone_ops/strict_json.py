"""The strict JSON reader every artifact and journal line goes through (SPEC §3.3).

Its own module, with no model imports, so that readers of a single format (the journal,
the compose file) do not load every artifact model to parse a line.
"""

from __future__ import annotations

import json
from typing import Any


class StrictJSONError(ValueError):
    """JSON that a strict reader refuses: syntax, duplicate keys, NaN/Infinity, depth."""


def _reject_constant(token: str) -> Any:
    raise StrictJSONError(f"{token} is not allowed in strict JSON")


def _finite_float(token: str) -> float:
    value = float(token)
    if value in (float("inf"), float("-inf")):
        raise StrictJSONError(f"number {token[:40]} overflows to Infinity")
    return value


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise StrictJSONError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def loads_strict(text: str) -> Any:
    """Parse JSON refusing duplicate keys, NaN/Infinity, overflowing numbers and a BOM."""
    if text.startswith("\ufeff"):
        raise StrictJSONError("a UTF-8 byte order mark is not allowed")
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_object,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except StrictJSONError:
        raise
    except json.JSONDecodeError as exc:
        raise StrictJSONError(f"line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise StrictJSONError("nested too deeply") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise StrictJSONError(str(exc).split("\n")[0]) from None
