"""Planted secrets never reach an output: argv, CI env, credentials env (SPEC §4.4, §6).

A project with its own secret-carrying options runs with the plugin; every secret is a
unique marker, and every byte the run writes (artifacts, journal, terminal) plus what
recover-evidence and the vendor_live plan write is searched for each marker.
"""

from __future__ import annotations

import json

import pytest

from dpone_ops.cli import main
from dpone_ops.live_certification import VENDOR_CREDENTIALS
from tests._plugin_support import load_evidence, run

SECRETS = {
    "password option": "Pw-1a8f2c",
    "token option": "Tok-9b7e3d",
    "key option": "Key-4c2a91",
    "secret in an assignment": "Sec-77e0b4",
    "password in a URL": "UrlPw-2f9c",
    "password with an @ in a URL": "p@ss-At-5e1d",
    "token in a query string": "Query-6d3b",
    "bearer header": "Bearer-8a4f",
    "ini override": "Ini-0c6e92",
    "CI URL with credentials": "CiUrl-3b8d",
    "database password env": "EnvPw-5a2c",
    "cloud secret env": "EnvSec-1e7f",
    "vendor credential env": "Vendor-9d4b",
}
CONFTEST = """
def pytest_addoption(parser):
    for name in ("--db-password", "--api-token", "--signing-key", "--db-url", "--endpoint",
                 "--header", "--extra"):
        parser.addoption(name)
"""
SUITE = """
import pytest

@pytest.mark.service("postgres")
def test_pg():
    pass
"""


def _argv() -> list[str]:
    s = SECRETS
    return [
        "--db-password", s["password option"],
        f"--api-token={s['token option']}",
        "--signing-key", s["key option"],
        f"--extra=DB_SECRET={s['secret in an assignment']}",
        f"--db-url=postgresql://dpone:{s['password in a URL']}@db:5432/it",
        f"--endpoint=https://svc.example/api?x=1&access_token={s['token in a query string']}",
        "--header", f"Authorization: Bearer {s['bearer header']}",
        "-o", f"api_password={s['ini override']}",
        f"--extra=https://dpone:{s['password with an @ in a URL']}@host/db",
    ]


def _grep(text: str, where: str) -> list[str]:
    return [f"{what} ({value}) in {where}" for what, value in SECRETS.items() if value in text]


def test_no_planted_secret_reaches_any_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("JENKINS_URL",
                       f"https://ci:{SECRETS['CI URL with credentials']}@jenkins.example/")
    monkeypatch.setenv("DPONE_IT_PG_PASSWORD", SECRETS["database password env"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRETS["cloud secret env"])
    for name in {n for names in VENDOR_CREDENTIALS.values() for n in names}:
        monkeypatch.setenv(name, SECRETS["vendor credential env"])
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_pg=SUITE)
    result = run(pytester, "-p", "no:xdist", *_argv())
    assert result.ret == 0
    evidence = pytester.path / "evidence"
    manifest = load_evidence(evidence)["run_manifest"]
    assert manifest.ci["JENKINS_URL"] == "https://ci:***@jenkins.example/"
    assert "--db-password" in manifest.argv  # the options are kept, their values are not

    leaks = _grep("\n".join(result.outlines + result.errlines), "the terminal")
    assert main(["ops", "recover-evidence", str(evidence), "--output-dir",
                 str(pytester.path / "recovered")]) in (0, 1)
    assert main(["ops", "live-certification-plan", "--profile", "vendor_live",
                 "--release", "v1.0.0", "--commit-sha", "a" * 40,
                 "--output-dir", str(pytester.path / "plan")]) in (0, 1)
    leaks += _grep(capsys.readouterr().out, "stdout of dpone ops")
    for directory in ("evidence", "recovered", "plan"):
        files = sorted((pytester.path / directory).iterdir())
        assert files
        for path in files:
            leaks += _grep(path.read_bytes().decode("utf-8"), str(path.relative_to(pytester.path)))
    assert not leaks, "\n".join(leaks)
    plan = json.loads((pytester.path / "plan" / "live_certification_plan.json").read_bytes())
    assert "GOOGLE_APPLICATION_CREDENTIALS" in json.dumps(plan)  # names, never values


@pytest.mark.parametrize(("arg", "hidden"), [
    ("--header=Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ("https://h/x?sig=abc123&ok=1", "abc123"),
    ("https://:tok-only@h/x", "tok-only"),
    ("env=DPONE_PASSWORD=pw-xyz", "pw-xyz"),
    ("redis://:pw-redis@cache:6379/0", "pw-redis"),
])
def test_credentials_inside_values_are_hidden(arg: str, hidden: str) -> None:
    from pytest_dpone.recorder import redact_argv

    redacted = redact_argv([arg])
    assert hidden not in redacted[0]
    assert "***" in redacted[0]
