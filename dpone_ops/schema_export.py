"""JSON Schema of every artifact kind, exported from the models themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dpone_ops.models import KINDS
from dpone_ops.writing import canonical_json

SCHEMA_DIR = Path(__file__).parent / "schemas"


def schema_for(kind: str) -> dict[str, Any]:
    model = KINDS[kind]
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://pytest-dpone.invalid/schemas/dpone.{kind}.v1.json"
    return schema


def schema_filename(kind: str) -> str:
    return f"dpone.{kind}.v1.schema.json"


def rendered_schemas() -> dict[str, str]:
    """File name -> canonical JSON text, for every registered kind."""
    return {schema_filename(kind): canonical_json(schema_for(kind)) for kind in sorted(KINDS)}
