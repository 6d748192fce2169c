"""``dpone ops compose-check`` accepts the shipped compose file and rejects broken copies."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dpone_ops.cli import main
from dpone_ops.compose_check import evaluate, find_compose_schema, interpolate_text
from pytest_dpone.services.containers import IMAGES

COMPOSE = Path(__file__).resolve().parents[1] / "docker" / "docker-compose.integration.yml"
Mutation = Callable[[dict[str, Any]], None]


def _shipped() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["ops", "compose-check", *argv, "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out else {}


def test_the_shipped_compose_file_passes_against_the_compose_json_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = find_compose_schema(os.environ)
    assert schema is not None, (
        "no Compose JSON Schema: pip install --no-deps docker-compose==1.29.2 (see .ci/run)"
    )
    code, report = _run(capsys, str(COMPOSE), "--require-schema")
    assert report["findings"] == []
    assert code == 0
    assert report["schema"] == str(schema)
    assert {"postgres", "mssql", "clickhouse", "kafka", "schema-registry", "minio",
            "minio-init"} <= set(report["services"])


def test_ports_overridden_by_env_still_validate(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DPONE_IT_PG_PORT", "6543")
    monkeypatch.setenv("DPONE_IT_KAFKA_PORT", "19092")
    code, report = _run(capsys, str(COMPOSE), "--require-schema")
    assert (code, report["findings"]) == (0, [])


def _delete(*path: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        node = document
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _set(value: Any, *path: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        node = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


BROKEN: list[tuple[str, Mutation, str]] = [
    ("no kafka", _delete("services", "kafka"), "kafka.missing"),
    ("no healthcheck", _delete("services", "postgres", "healthcheck"),
     "postgres.healthcheck.missing"),
    ("healthcheck that proves nothing", _set(["CMD", "true"], "services", "mssql",
                                             "healthcheck", "test"),
     "mssql.healthcheck.wrong_probe"),
    ("fixed host port", _set(["55432:5432"], "services", "postgres", "ports"),
     "postgres.ports.not_overridable"),
    ("http port dropped", _set(["${DPONE_IT_CH_PORT:-59000}:9000"], "services", "clickhouse",
                               "ports"), "clickhouse.ports.contract_mismatch"),
    ("garbled port", _set(["fifty:5432"], "services", "postgres", "ports"),
     "postgres.ports.invalid"),
    ("registry does not wait for healthy kafka",
     _set({"kafka": {"condition": "service_started"}}, "services", "schema-registry",
          "depends_on"), "schema-registry.depends_on.kafka_not_healthy"),
    ("no logical decoding", _set(["postgres"], "services", "postgres", "command"),
     "postgres.config.missing_wal_level_logical"),
    ("bucket never created", _set(["/bin/sh", "-c", "true"], "services", "minio-init",
                                  "entrypoint"), "minio-init.config.missing_dpone_stage"),
    ("no image", _delete("services", "minio", "image"), "minio.image.missing"),
    ("unknown key", _set("5", "services", "kafka", "replicas_typo"), "compose.schema_invalid"),
    ("unset required variable", _set("${DPONE_NOT_SET_ANYWHERE:?set it}", "services",
                                     "kafka", "image"), "compose.interpolation.invalid"),
]


@pytest.mark.parametrize(("mutation", "blocker"), [(m, b) for _, m, b in BROKEN],
                         ids=[name for name, _, _ in BROKEN])
def test_a_broken_copy_of_the_compose_file_fails_with_a_named_blocker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mutation: Mutation, blocker: str,
) -> None:
    document = copy.deepcopy(_shipped())
    mutation(document)
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    code, report = _run(capsys, str(broken))
    assert code == 1
    assert report["passed"] is False
    assert blocker in report["blockers"], report["findings"]


def test_structural_checks_run_without_a_schema() -> None:
    verdict = evaluate({"services": {"postgres": {"image": "postgres"}}}, environ={})
    assert verdict.schema_used is None
    assert "kafka.missing" in verdict.blockers
    assert "postgres.healthcheck.missing" in verdict.blockers
    assert not verdict.passed


@pytest.mark.parametrize("document", [None, [], "services", {"services": {}}, {"x": 1}])
def test_a_document_without_services_fails_closed(document: Any) -> None:
    verdict = evaluate(document, environ={})
    assert not verdict.passed
    assert verdict.blockers in (["compose.invalid"], ["compose.services.missing"])


def test_unparsable_yaml_is_unusable_input_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  postgres: [unclosed\n", encoding="utf-8")
    assert main(["ops", "compose-check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dpone: error:")
    assert "not valid YAML" in err
    assert err.count("\n") == 1


def test_a_missing_file_or_schema_is_unusable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ops", "compose-check", str(tmp_path / "absent.yml")]) == 2
    assert main(["ops", "compose-check", str(COMPOSE), "--schema",
                 str(tmp_path / "absent.json")]) == 2
    assert capsys.readouterr().err.count("dpone: error:") == 2


def test_text_output_names_the_schema_and_every_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    document = _shipped()
    del document["services"]["kafka"]
    broken = tmp_path / "compose.yml"
    broken.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert main(["ops", "compose-check", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out
    assert "- kafka.missing:" in out
    assert "- schema-registry.depends_on.kafka_not_healthy:" not in out  # still declared


def test_compose_images_match_the_testcontainers_provider() -> None:
    services = _shipped()["services"]
    for service, image in IMAGES.items():
        assert services[service]["image"] == image, service


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${A:-5}", {}, "5"),
        ("${A:-5}", {"A": ""}, "5"),
        ("${A-5}", {"A": ""}, ""),
        ("${A:-5}", {"A": "7"}, "7"),
        ("$A/$$A", {"A": "x"}, "x/$A"),
        ("${A:+on}", {"A": "1"}, "on"),
        ("${A}", {}, ""),
    ],
)
def test_interpolation_follows_compose_rules(text: str, environ: dict[str, str],
                                             expected: str) -> None:
    assert interpolate_text(text, environ) == expected


@given(st.text(alphabet=st.characters(blacklist_characters="$")))
def test_text_without_dollars_is_never_changed(text: str) -> None:
    assert interpolate_text(text, {"A": "x"}) == text


@given(st.text(alphabet=st.characters(blacklist_characters="${}")))
def test_escaped_dollars_become_one_dollar(text: str) -> None:
    assert interpolate_text(f"$${text}", {}) == f"${text}"
    assert interpolate_text(f"$$$${text}", {}) == f"$${text}"


def test_require_schema_refuses_to_pass_on_structure_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dpone_ops.commands.services as command

    monkeypatch.setattr(command, "find_compose_schema", lambda environ: None)
    assert main(["ops", "compose-check", str(COMPOSE), "--require-schema"]) == 2
    assert "no Compose JSON Schema found" in capsys.readouterr().err
    assert main(["ops", "compose-check", str(COMPOSE)]) == 0
    assert "structural checks only" in capsys.readouterr().out
