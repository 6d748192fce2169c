"""Artifact order does not follow xdist's scheduling (SPEC §4.5).

The tests collected first finish last under ``-n 2`` (they sleep longest), so the journal
(written as tests finish) is out of collection order; the artifacts must still equal the
``-n 0`` run's, field for field outside timings and worker ids.
"""

from __future__ import annotations

import pytest

from tests._plugin_support import journal_cases, normalized, run

SUITE = """
import time
import pytest

@pytest.mark.parametrize("n", range(8))
@pytest.mark.service("postgres")
def test_pg(n):
    time.sleep(0.02 * (8 - n))

@pytest.mark.certification(source="postgres", sink="clickhouse", strategy="append")
@pytest.mark.parametrize("n", range(3))
def test_cell(n):
    time.sleep(0.02 * (3 - n))
"""


def test_artifacts_do_not_depend_on_the_order_tests_finish(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    pytester.makepyfile(test_order=SUITE)
    run(pytester, "-p", "no:xdist", evidence="plain")
    run(pytester, "-n", "2", evidence="xdist")
    finished = [c["node_id"] for c in journal_cases(pytester.path / "xdist")]
    collected = [c["node_id"] for c in journal_cases(pytester.path / "plain")]
    assert sorted(finished) == sorted(collected)
    assert finished != collected  # the scheduling really differed
    assert normalized(pytester.path / "plain") == normalized(pytester.path / "xdist")
