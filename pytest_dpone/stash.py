"""Stash keys and the per-process objects found through them (no module globals)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_dpone.markers import Alias, MarkRecord
from pytest_dpone.shards import Shard

if TYPE_CHECKING:
    from pytest_dpone.fixtures import FactTaker  # noqa: F401 - named in a string annotation
    from pytest_dpone.recorder import Recorder  # noqa: F401 - named in a string annotation
    from pytest_dpone.services.broker import ServiceBroker


@dataclass(frozen=True)
class Settings:
    """The plugin's options and ini values, parsed and checked once per process."""

    evidence_dir: Path | None
    release: str | None
    profile: str | None
    commit_sha: str | None
    shard: Shard | None
    required_services: tuple[str, ...]
    min_passed: int
    max_skipped: int
    allowed_services: frozenset[str]
    allowed_checks: frozenset[str]
    aliases: dict[str, Alias]
    required_state: tuple[tuple[str, str], ...]


SETTINGS_KEY = pytest.StashKey[Settings]()
RECORDER_KEY = pytest.StashKey["Recorder"]()
# In a process that runs tests of a recording session (plain session or xdist worker).
FACT_TAKER_KEY = pytest.StashKey["FactTaker"]()
# Per recording process: node id -> bound marks of the marked tests it runs (filled at
# collection; read by a plain session's recorder, or put on the reports by a worker).
LOCAL_MARKS_KEY = pytest.StashKey[dict[str, MarkRecord]]()
BROKER_KEY = pytest.StashKey["ServiceBroker"]()
# Per item: the bound evidence marks, and the facts recorded during the current attempt.
MARKS_KEY = pytest.StashKey[MarkRecord]()
FACTS_KEY = pytest.StashKey[dict[str, Any]]()
# Per process: what collection saw, for the run manifest and the shard record.
COLLECTION_KEY = pytest.StashKey[dict[str, Any]]()


def broker_for(config: pytest.Config) -> ServiceBroker:
    """This process's service broker, created on first use and closed at session end."""
    broker = config.stash.get(BROKER_KEY, None)
    if broker is None:
        # Imported on first use: the providers pull in urllib, http and socket code that a
        # session without service tests never needs.
        from pytest_dpone.services.broker import ServiceBroker

        workerinput = getattr(config, "workerinput", None)
        worker_id = workerinput["workerid"] if workerinput else None
        # One root per session, shared by its xdist workers (same testrunuid) so that a
        # server one worker starts serves them all; never inside the evidence dir, since
        # a local server's data dir does not belong in the evidence.
        uid = workerinput.get("testrunuid", "") if workerinput else ""
        root = Path(tempfile.gettempdir()) / f"dpone-services-{uid or os.getpid()}"
        root.mkdir(parents=True, exist_ok=True)
        broker = ServiceBroker(root, worker_id=worker_id)
        config.stash[BROKER_KEY] = broker
    return broker


def close_broker(config: pytest.Config) -> None:
    broker = config.stash.get(BROKER_KEY, None)
    if broker is not None:
        broker.close()
        del config.stash[BROKER_KEY]
