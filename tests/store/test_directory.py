"""The tenant directory: keys shown once and stored as hashes, authentication, revocation
reaching other instances and processes within 1 s, tenants, apps, roles."""

from __future__ import annotations

import hashlib
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sumun.errors import AuthError, ForbiddenError, StoreError, UsageError
from sumun.store.directory import Directory
from sumun.store.model import Limits, Role

KEY_RE = re.compile(r"sk-sumun-([a-z2-7]{10})-([a-z2-7]{40})")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "store.db"


@pytest.fixture
def directory(path: Path) -> Iterator[Directory]:
    d = Directory(path)
    d.create_tenant("acme", rpm=600, tpm=100_000, token_budget=10**7)
    d.create_app("acme", "chat")
    yield d
    d.close()


def _stored_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())


# -- keys are shown once and stored only as hashes ---------------------------------------------


def test_issued_key_is_shown_once_and_stored_only_as_its_hash(
    directory: Directory, path: Path
) -> None:
    key, api_key = directory.issue_key("acme", app="chat", user="kim@acme.kr")
    match = KEY_RE.fullmatch(api_key)
    assert match and match.group(1) == key.key_id
    secret = match.group(2)
    stored = _stored_bytes(path)
    assert secret.encode() not in stored and api_key.encode() not in stored
    assert hashlib.sha256(api_key.encode()).digest() in stored  # what is kept instead
    assert key.key_id.encode() in stored
    for shown in (repr(key), repr(directory.list_keys()), repr(directory.get_key(key.key_id))):
        assert secret not in shown
    assert repr(directory.authenticate(api_key)).count(secret) == 0


def test_keys_are_distinct_and_files_private(directory: Directory, path: Path) -> None:
    keys = {directory.issue_key("acme")[1] for _ in range(50)}
    assert len(keys) == 50
    assert len({KEY_RE.fullmatch(k).group(1) for k in keys}) == 50  # type: ignore[union-attr]
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


# -- authenticate ------------------------------------------------------------------------------


def test_authenticate_returns_the_principal(directory: Directory) -> None:
    key, api_key = directory.issue_key(
        "acme", app="chat", user="kim", role=Role.USER, rpm=10, tpm=1000, token_budget=5000
    )
    principal = directory.authenticate(api_key)
    assert (principal.key_id, principal.tenant, principal.app, principal.user) == (
        key.key_id,
        "acme",
        "chat",
        "kim",
    )
    assert principal.role is Role.USER
    assert principal.limits == Limits(10, 1000, 5000)
    assert directory.authenticate(api_key) == principal  # cached answer is the same


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "sk-sumun-",
        "Bearer sk-sumun-abcdefghij-" + "a" * 40,
        "sk-sumun-ABCDEFGHIJ-" + "a" * 40,  # upper case is not the alphabet
        "sk-sumun-abcdefghij-" + "a" * 39,
        "sk-sumun-abcdefghij-" + "a" * 41,
        "sk-sumun-abcdefghi1-" + "a" * 40,  # 1 is not base32
        "sk-other-abcdefghij-" + "a" * 40,
        "sk-sumun-abcdefghij-" + "a" * 39 + "é",
        "x" * 100_000,
    ],
)
def test_malformed_keys_are_refused_with_one_message(directory: Directory, presented: str) -> None:
    with pytest.raises(AuthError, match=r"^invalid API key$"):
        directory.authenticate(presented)


def test_unknown_and_wrong_keys_read_the_same(directory: Directory) -> None:
    _, api_key = directory.issue_key("acme")
    wrong_secret = api_key[:-1] + ("b" if api_key[-1] != "b" else "c")
    unknown_id = f"sk-sumun-{'a' * 10}-{api_key[-40:]}"
    for presented in (wrong_secret, unknown_id):
        with pytest.raises(AuthError, match=r"^invalid API key$") as info:
            directory.authenticate(presented)
        assert info.value.status == 401
    directory.authenticate(api_key)  # the cached entry does not make a wrong secret pass
    with pytest.raises(AuthError, match=r"^invalid API key$"):
        directory.authenticate(wrong_secret)


def test_revoked_key_is_refused_and_only_its_holder_learns_why(directory: Directory) -> None:
    key, api_key = directory.issue_key("acme")
    directory.authenticate(api_key)  # cached before the revocation
    revoked = directory.revoke_key(key.key_id)
    assert revoked.revoked and revoked.revoked_at is not None
    with pytest.raises(AuthError, match=r"^API key revoked$"):
        directory.authenticate(api_key)
    wrong = api_key[:-1] + ("b" if api_key[-1] != "b" else "c")
    with pytest.raises(AuthError, match=r"^invalid API key$"):
        directory.authenticate(wrong)
    again = directory.revoke_key(key.key_id)  # idempotent: the first time stays
    assert again.revoked_at == revoked.revoked_at


def test_revocation_reaches_another_instance_within_a_second(
    directory: Directory, path: Path
) -> None:
    key, api_key = directory.issue_key("acme")
    other = Directory(path)
    try:
        other.authenticate(api_key)  # cached in the other instance
        directory.revoke_key(key.key_id)
        revoked_at = time.monotonic()
        while True:
            try:
                other.authenticate(api_key)
            except AuthError as exc:
                assert str(exc) == "API key revoked"
                break
            assert time.monotonic() - revoked_at < 1.0, "revocation not seen within 1 s"
            time.sleep(0.005)
    finally:
        other.close()


_WATCHER = """
import sys, time
from pathlib import Path
from sumun.errors import AuthError
from sumun.store.directory import Directory
d = Directory(Path(sys.argv[1]))
d.authenticate(sys.argv[2])
print("cached", flush=True)
while True:
    try:
        d.authenticate(sys.argv[2])
    except AuthError as exc:
        print(f"refused {time.time():.6f} {exc}", flush=True)
        break
    time.sleep(0.002)
"""


def test_revocation_reaches_another_process_within_a_second(
    directory: Directory, path: Path
) -> None:
    key, api_key = directory.issue_key("acme")
    child = subprocess.Popen(
        [sys.executable, "-c", _WATCHER, str(path), api_key],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "cached"
        time.sleep(0.3)  # the child's cache is warm and its recheck clock has run
        before = time.time()
        directory.revoke_key(key.key_id)
        line = child.stdout.readline().split()
        assert line[0] == "refused", line
        assert " ".join(line[2:]) == "API key revoked"
        assert float(line[1]) - before < 1.0
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
        child.wait()


def test_concurrent_authentication_during_revocation(directory: Directory, path: Path) -> None:
    keys = [directory.issue_key("acme") for _ in range(4)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def hammer(api_key: str) -> None:
        try:
            while not stop.is_set():
                try:
                    directory.authenticate(api_key)
                except AuthError as exc:
                    assert str(exc) == "API key revoked"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(k[1],)) for k in keys for _ in range(2)]
    for t in threads:
        t.start()
    revoker = Directory(path)
    try:
        for key, _ in keys[:2]:
            revoker.revoke_key(key.key_id)
        time.sleep(0.6)
        stop.set()
        for t in threads:
            t.join()
    finally:
        revoker.close()
    assert not errors
    for i, (_key, api_key) in enumerate(keys):
        if i < 2:
            with pytest.raises(AuthError, match="revoked"):
                directory.authenticate(api_key)
        else:
            directory.authenticate(api_key)


def test_authenticate_is_fast_when_cached(directory: Directory) -> None:
    _, api_key = directory.issue_key("acme")
    directory.authenticate(api_key)
    rounds = []
    for _ in range(5):
        n = 20_000
        start = time.perf_counter()
        for _ in range(n):
            directory.authenticate(api_key)
        rounds.append((time.perf_counter() - start) / n)
    micros = statistics.median(rounds) * 1e6
    print(f"\nauthenticate (cached): {micros:.2f} us")
    assert micros < 20


# -- tenants, apps, roles ----------------------------------------------------------------------


def test_tenants_create_update_and_list(directory: Directory) -> None:
    beta = directory.create_tenant(
        "beta", ai_notice=False, notice_text="AI 응답입니다", default_data_class="c"
    )
    assert not beta.ai_notice and beta.notice_text == "AI 응답입니다"
    assert beta.default_data_class == "C"
    with pytest.raises(UsageError, match="invalid data class 'internal': use C, S or O"):
        directory.update_tenant("beta", default_data_class="internal")
    assert beta.limits == Limits()
    assert [t.name for t in directory.list_tenants()] == ["acme", "beta"]
    assert directory.get_tenant("acme").ai_notice  # the notice is on by default
    updated = directory.update_tenant("acme", rpm=None, tpm=50, notice_text="custom")
    assert updated.limits == Limits(None, 50, 10**7)
    assert updated.notice_text == "custom" and updated.ai_notice
    assert directory.get_tenant("acme") == updated  # the cache follows local writes
    assert directory.update_tenant("acme") == updated  # nothing given: nothing changes


def test_tenant_changes_reach_other_instances(directory: Directory, path: Path) -> None:
    other = Directory(path, recheck_seconds=0)
    try:
        assert other.get_tenant("acme").rpm == 600
        directory.update_tenant("acme", rpm=5)
        assert other.get_tenant("acme").rpm == 5
    finally:
        other.close()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: d.create_tenant("acme"), "tenant 'acme' already exists"),
        (lambda d: d.create_tenant("Acme Corp"), "bad tenant name 'Acme Corp'"),
        (lambda d: d.create_tenant("x", rpm=0), "rpm must be a positive whole number"),
        (lambda d: d.create_tenant("x", notice_text=" "), "notice text must be 1-4000"),
        (lambda d: d.update_tenant("nope", rpm=1), "no tenant named 'nope'"),
        (lambda d: d.get_tenant("nope"), "no tenant named 'nope'"),
        (lambda d: d.create_app("nope", "chat"), "no tenant named 'nope'"),
        (lambda d: d.create_app("acme", "chat"), "already has an app named 'chat'"),
        (lambda d: d.issue_key("nope"), "no tenant named 'nope'"),
        (lambda d: d.issue_key("acme", app="mail"), "has no app named 'mail'"),
        (lambda d: d.issue_key("acme", user="a\nb"), "user must be 1-256 printable"),
        (lambda d: d.issue_key("acme", token_budget=-5), "token budget must be a positive"),
        (lambda d: d.revoke_key("abcdefghij"), "no API key with id 'abcdefghij'"),
        (lambda d: d.revoke_key("'; DROP--"), "bad key id"),
    ],
)
def test_bad_arguments_are_precise(directory: Directory, call: object, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        call(directory)  # type: ignore[operator]


def test_apps_and_key_listing(directory: Directory) -> None:
    directory.create_tenant("beta")
    directory.create_app("beta", "chat")  # app names are per tenant
    assert [(a.tenant, a.name) for a in directory.list_apps()] == [
        ("acme", "chat"),
        ("beta", "chat"),
    ]
    assert [a.tenant for a in directory.list_apps("beta")] == ["beta"]
    a, _ = directory.issue_key("acme")
    b, _ = directory.issue_key("beta", app="chat")
    assert [k.key_id for k in directory.list_keys()] == [a.key_id, b.key_id]
    assert [k.key_id for k in directory.list_keys("beta")] == [b.key_id]


def test_roles(directory: Directory) -> None:
    principals = {
        role: directory.authenticate(directory.issue_key("acme", role=role)[1]) for role in Role
    }
    assert {p.role for p in principals.values()} == set(Role)
    principals[Role.ADMIN].require(Role.ADMIN)
    principals[Role.AUDITOR].require(Role.ADMIN, Role.AUDITOR)
    with pytest.raises(ForbiddenError, match="role user; admin is needed") as info:
        principals[Role.USER].require(Role.ADMIN)
    assert info.value.status == 403
    with pytest.raises(ValueError, match="at least one role"):
        principals[Role.ADMIN].require()  # an empty grant is misuse, not "allow all"
    assert directory.issue_key("acme", role="auditor")[0].role is Role.AUDITOR  # type: ignore[arg-type]


def test_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    import sqlite3

    foreign = tmp_path / "store.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a Sumun store"):
        Directory(foreign)


def test_a_closed_directory_says_so(path: Path) -> None:
    d = Directory(path)
    d.close()
    with pytest.raises(StoreError, match="closed"):
        d.list_tenants()


def test_two_processes_creating_the_store_at_once(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    code = "import sys; from pathlib import Path; from sumun.store.directory import Directory; "
    code += "Directory(Path(sys.argv[1])).close()"
    children = [subprocess.Popen([sys.executable, "-c", code, str(path)]) for _ in range(8)]
    assert [c.wait(timeout=30) for c in children] == [0] * 8
    with Directory(path) as d:
        d.create_tenant("acme")
        assert [t.name for t in d.list_tenants()] == ["acme"]
    assert os.stat(path).st_size > 0
