"""Whatever a file holds, a gate answers with a verdict or exit 2, never a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dpone_ops.cli import main

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=12,
)
# Objects shaped a little like the real inputs, so the fuzzing reaches past the first check.
SHAPED = st.fixed_dictionaries(
    {}, optional={"kind": st.sampled_from(["state_evidence", "reconciliation_evidence",
                                           "certification_report", "performance_metrics",
                                           "benchmark_baseline", "x"]),
                  "passed": st.booleans(), "benchmarks": JSON, "machine_info": JSON,
                  "state_backends": JSON, "metrics": JSON, "cells": JSON},
)
DOC = st.one_of(JSON, SHAPED)


def gates(path: Path, out: Path) -> list[list[str]]:
    # An explicit commit spares each run a `git rev-parse`.
    common = ["--output-dir", str(out), "--commit-sha", "c" * 40]
    return [
        ["ops", "performance-certification", "--metrics-file", str(path), "--maximum-json",
         '{"duration_seconds": 1}', *common],
        ["ops", "performance-certification", "--metrics-json", '{"duration_seconds": 1}',
         "--baseline", str(path), *common],
        ["ops", "live-state-reconciliation", "--artifact", f"state={path}", "--artifact",
         f"reconciliation={path}", *common],
        ["ops", "certification-pack", "--artifact", f"certification_report={path}", *common],
        ["ops", "pre-release-checklist", "--release", "v1", "--release-type", "patch-docs",
         "--check-artifact", f"documentation={path}", *common],
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOC)
def test_any_json_input_gets_a_verdict_or_exit_2(doc: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.json"
        path.write_text(json.dumps(doc))
        for argv in gates(path, Path(tmp) / "out"):
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SOURCE_DATE_EPOCH", "0")
                code = main(argv)
            assert code in (1, 2), argv
