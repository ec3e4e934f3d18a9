"""Provider credentials from a file that is re-read when it changes (`api_key_file`,
`aws_credentials_file`): the source itself with a stepped clock, the settings around it, and a
running gateway that keeps answering, with no reload and no restart, while a Vertex AI token and
Bedrock STS credentials are rotated under it (the fakes accept only the new ones)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

import tests.fixtures.fake_bedrock as fake_bedrock_module
from sumun import config
from sumun.config import ProviderConfig
from sumun.errors import ConfigError
from sumun.gateway.upstream._credentials import CHECK_SECONDS, api_secret, aws_credentials
from sumun.gateway.upstream.base import Call, ProviderAdapter, Wire
from sumun.gateway.upstream.factory import make_adapter
from tests.fixtures.fake_bedrock import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    FakeBedrock,
    start_fake_bedrock,
)
from tests.fixtures.fake_clova import start_fake_clova
from tests.fixtures.fake_gemini import FakeGemini, start_fake_gemini
from tests.fixtures.fake_upstream import FakeUpstream
from tests.gateway.harness import Running, running_gateway

TOKEN_A = "ya29.first-token-AAAA"
TOKEN_B = "ya29.renewed-token-BBBB"
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NEW_ACCESS_KEY = "ASIAROTATEDSTSKEY002"
NEW_SECRET_KEY = "rotated/Sts+Secret/9876543210fedcbaSEOUL"
_LOGGER = "sumun.gateway.credentials"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def step(self, seconds: float = CHECK_SECONDS) -> None:
        self.now += seconds


def _write(path: Path, text: str, mode: int = 0o600) -> None:
    """Rewrite atomically, as a renewing sidecar does: a new file renamed over the old one."""
    spare = path.with_name(path.name + ".tmp")
    spare.write_text(text, encoding="utf-8")
    spare.chmod(mode)
    os.replace(spare, path)


def _provider(**fields: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "up", "kind": "openai", "base_url": "http://127.0.0.1:9/v1"}
    return ProviderConfig(**{**values, **fields})


def _aws_file(access: str, secret: str, token: str | None, profile: str = "default") -> str:
    lines = [f"[{profile}]", f"aws_access_key_id = {access}", f"aws_secret_access_key = {secret}"]
    if token is not None:
        lines.append(f"aws_session_token = {token}")
    return "\n".join(lines) + "\n"


# --- the source ----------------------------------------------------------------------------------


def test_a_rewrite_by_rename_is_picked_up_after_the_check_interval(tmp_path: Path) -> None:
    path = tmp_path / "token"
    _write(path, f"  {TOKEN_A}\n")
    clock = Clock()
    secret = api_secret(_provider(api_key_file=path), clock=clock)
    assert secret.current() == TOKEN_A and secret.origin == str(path)
    _write(path, TOKEN_B + "\n")
    assert secret.current() == TOKEN_A  # looked at no more than once a second
    clock.step(CHECK_SECONDS / 2)
    assert secret.current() == TOKEN_A
    clock.step(CHECK_SECONDS / 2)
    assert secret.current() == TOKEN_B


def test_the_file_is_read_only_when_its_stat_changed(tmp_path: Path) -> None:
    path = tmp_path / "token"
    _write(path, "key-AAAA")
    clock = Clock()
    secret = api_secret(_provider(api_key_file=path), clock=clock)
    before = path.stat()
    path.write_text("key-BBBB", encoding="utf-8")  # in place: same inode, same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    clock.step()
    assert secret.current() == "key-AAAA"  # the stat is unchanged, so the file was not read
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    clock.step()
    assert secret.current() == "key-BBBB"


@pytest.mark.parametrize(
    ("content", "mode", "expected"),
    [
        (None, 0o600, "cannot be read"),
        ("", 0o600, "is empty"),
        (" \n\t\n", 0o600, "is empty"),
        (TOKEN_A, 0o644, "chmod 600"),
        (TOKEN_A, 0o640, "mode 0640"),
        ("two words", 0o600, "more than one word"),
    ],
)
def test_an_unusable_file_is_refused_when_the_provider_is_built(
    tmp_path: Path, content: str | None, mode: int, expected: str
) -> None:
    path = tmp_path / "token"
    if content is not None:
        _write(path, content, mode)
    for kind in ("openai", "anthropic", "gemini", "clova"):
        with pytest.raises(ConfigError, match=expected) as caught:
            make_adapter(_provider(kind=kind, api_key_file=path))
        assert str(path) in str(caught.value)
        if content and content.strip():
            assert content.strip() not in str(caught.value)


def test_a_vanished_or_emptied_file_keeps_the_last_value_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=_LOGGER)
    path = tmp_path / "token"
    _write(path, TOKEN_A)
    clock = Clock()
    secret = api_secret(_provider(api_key_file=path), clock=clock)
    path.unlink()
    for _ in range(3):
        clock.step()
        assert secret.current() == TOKEN_A
    _write(path, "")  # back, but empty: still the same trouble, no second warning
    clock.step()
    assert secret.current() == TOKEN_A
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(path) in warnings[0].getMessage()
    _write(path, TOKEN_B)
    clock.step()
    assert secret.current() == TOKEN_B
    _write(path, TOKEN_A, mode=0o644)  # opened up to others: refused, the last value kept
    clock.step()
    assert secret.current() == TOKEN_B
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "0644" in warnings[1].getMessage()
    assert TOKEN_A not in caplog.text and TOKEN_B not in caplog.text


def test_an_environment_variable_is_still_a_fixed_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CRED_KEY", "sk-from-env")
    secret = api_secret(_provider(api_key_env="TEST_CRED_KEY"))
    assert secret.current() == "sk-from-env" and secret.origin == "TEST_CRED_KEY"
    assert api_secret(_provider()).current() is None
    monkeypatch.delenv("TEST_CRED_KEY")
    with pytest.raises(ConfigError, match="TEST_CRED_KEY is not set"):
        api_secret(_provider(api_key_env="TEST_CRED_KEY"))


def test_the_aws_credentials_file_is_read_by_profile_and_rotated(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    text = _aws_file("AKIAOTHER", "other-secret", None) + _aws_file(
        ACCESS_KEY, SECRET_KEY, "token-1", profile="seoul"
    )
    _write(path, text)
    clock = Clock()
    bedrock = _provider(
        kind="bedrock", region=REGION, base_url=None, aws_credentials_file=path, aws_profile="seoul"
    )
    source = aws_credentials(bedrock, clock=clock)
    first = source.current()
    assert (first.access_key, first.secret_key, first.token) == (ACCESS_KEY, SECRET_KEY, "token-1")
    assert SECRET_KEY not in repr(first)
    _write(path, _aws_file(NEW_ACCESS_KEY, NEW_SECRET_KEY, "token-2", profile="seoul"))
    clock.step()
    assert source.current().secrets() == (NEW_ACCESS_KEY, NEW_SECRET_KEY, "token-2")
    _write(path, _aws_file(NEW_ACCESS_KEY, NEW_SECRET_KEY, None))  # the profile is gone
    clock.step()
    assert source.current().token == "token-2"  # the last good credentials are kept
    default = aws_credentials(bedrock.model_copy(update={"aws_profile": None}), clock=clock)
    assert default.current().token is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[other]\naws_access_key_id = A\naws_secret_access_key = S\n", r"no \[default\] section"),
        ("[default]\naws_access_key_id = A\n", "lacks aws_access_key_id or aws_secret_access_key"),
        ("aws_access_key_id = A\n", "is not an AWS credentials file"),
    ],
)
def test_a_bad_aws_credentials_file_is_refused_at_build(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "credentials"
    _write(path, text)
    bedrock = _provider(kind="bedrock", region=REGION, base_url=None, aws_credentials_file=path)
    with pytest.raises(ConfigError, match=expected):
        make_adapter(bedrock)


# --- every key-using adapter sends the current value --------------------------------------------


def test_every_key_using_adapter_sends_the_renewed_key(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    with start_fake_clova() as clova, start_fake_gemini() as gemini:
        # kind -> (upstream, provider fields, the header carrying the key, the key's prefix)
        upstreams: dict[str, tuple[FakeUpstream, dict[str, Any], str, str]] = {
            "openai": (fake_upstream, {"base_url": fake_upstream.base_url}, "authorization", "sk-"),
            "azure": (
                fake_upstream,
                {"base_url": fake_upstream.root_url, "api_version": "2024-10-21"},
                "api-key",
                "az-",
            ),
            "anthropic": (fake_upstream, {"base_url": fake_upstream.root_url}, "x-api-key", "ant-"),
            "clova": (clova, {"base_url": clova.root_url}, "authorization", "nv-"),
            "gemini": (gemini, {"base_url": gemini.root_url}, "x-goog-api-key", "AIza-"),
        }

        def rotate(version: str) -> None:
            for kind, (_, _, _, prefix) in upstreams.items():
                _write(tmp_path / kind, f"{prefix}key-{version}\n")
            clova.api_key, gemini.api_key = f"nv-key-{version}", f"AIza-key-{version}"

        async def ask(adapters: dict[str, ProviderAdapter]) -> dict[str, str]:
            sent: dict[str, str] = {}
            for kind, (fake, _, header, _) in upstreams.items():
                body: dict[str, Any] = {
                    "model": "m",
                    "messages": [{"role": "user", "content": "hi"}],
                }
                call = Call("chat", Wire.OPENAI, body, False, request_id=f"req-{kind}")
                if kind == "anthropic":
                    call = Call("messages", Wire.ANTHROPIC, {**body, "max_tokens": 16}, False, "r")
                await adapters[kind].complete(call)
                sent[kind] = fake.latest().headers[header].removeprefix("Bearer ")
            return sent

        async def ask_rotate_ask() -> tuple[dict[str, str], dict[str, str]]:
            adapters = {
                kind: make_adapter(
                    _provider(name=kind, kind=kind, api_key_file=tmp_path / kind, **fields)
                )
                for kind, (_, fields, _, _) in upstreams.items()
            }
            try:
                before = await ask(adapters)
                rotate("BBBB")
                await asyncio.sleep(CHECK_SECONDS + 0.1)
                return before, await ask(adapters)
            finally:
                for adapter in adapters.values():
                    await adapter.aclose()

        rotate("AAAA")
        before, after = asyncio.run(ask_rotate_ask())
    prefixes = {kind: prefix for kind, (_, _, _, prefix) in upstreams.items()}
    assert before == {kind: f"{prefix}key-AAAA" for kind, prefix in prefixes.items()}
    assert after == {kind: f"{prefix}key-BBBB" for kind, prefix in prefixes.items()}


# --- the settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"api_key_env": "X", "api_key_file": "k"}, "exclusive"),
        (
            {
                "kind": "bedrock",
                "region": REGION,
                "aws_credentials_file": "c",
                "aws_access_key_id_env": "X",
            },
            "exclusive",
        ),
        ({"kind": "bedrock", "region": REGION, "api_key_file": "k"}, "not an API key"),
        ({"aws_credentials_file": "c"}, "for bedrock providers"),
        ({"kind": "bedrock", "region": REGION, "aws_profile": "p"}, "set that too"),
    ],
)
def test_conflicting_credential_settings_are_refused(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        _provider(**fields)


def test_relative_files_are_taken_from_the_config_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "sumun.yaml").write_text(
        "providers:\n"
        "  - {name: up, kind: openai, base_url: 'http://127.0.0.1:9/v1', api_key_file: up.key}\n"
        "  - {name: abs, kind: openai, base_url: 'http://127.0.0.1:9/v1',"
        f" api_key_file: '{tmp_path / 'abs.key'}'}}\n"
        f"  - {{name: aws, kind: bedrock, region: {REGION},"
        " aws_credentials_file: aws/credentials}\n"
        "routes: [{model: m, targets: [{provider: up, model: x}]}]\n",
        encoding="utf-8",
    )
    settings = config.load(config_file=folder / "sumun.yaml", home=tmp_path / "home", env={})
    files = {p.name: p.api_key_file or p.aws_credentials_file for p in settings.providers}
    assert files == {
        "up": folder / "up.key",
        "abs": tmp_path / "abs.key",
        "aws": folder / "aws" / "credentials",
    }


# --- through a running gateway -------------------------------------------------------------------


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGemini, FakeBedrock]]:
    with start_fake_gemini() as gemini, start_fake_bedrock() as bedrock:
        yield gemini, bedrock


@pytest.fixture
def gw(tmp_path: Path, fakes: tuple[FakeGemini, FakeBedrock]) -> Iterator[Running]:
    gemini, bedrock = fakes
    gemini.token = TOKEN_A
    bedrock.session_token = "sts-token-1"
    _write(tmp_path / "vertex.token", TOKEN_A + "\n")
    _write(tmp_path / "aws-credentials", _aws_file(ACCESS_KEY, SECRET_KEY, "sts-token-1"))
    base = config.load(home=tmp_path / "home", env={})
    raw: dict[str, Any] = {
        "providers": [
            {
                "name": "vtx",
                "kind": "vertex",
                "project": "sumun-test-123",
                "location": "asia-northeast3",
                "base_url": gemini.root_url,
                "api_key_file": str(tmp_path / "vertex.token"),
                "timeout_seconds": 2.0,
            },
            {
                "name": "bedrock-seoul",
                "kind": "bedrock",
                "region": REGION,
                "base_url": bedrock.root_url,
                "aws_credentials_file": str(tmp_path / "aws-credentials"),
                "timeout_seconds": 2.0,
            },
        ],
        "routes": [
            {"model": "vtx", "targets": [{"provider": "vtx", "model": "gemini-2.5-pro"}]},
            {"model": "claude", "targets": [{"provider": "bedrock-seoul", "model": MODEL}]},
        ],
        "gateway": {"breaker_failures": 50},
    }
    with running_gateway(config.Settings(home=base.home, **raw)) as running:
        yield running


def _ask(g: Running, model: str) -> str:
    client = openai.OpenAI(base_url=f"{g.base_url}/v1", api_key=g.keys["acme"], max_retries=0)
    answer = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "안녕"}], timeout=20
    )
    return str(answer.choices[0].message.content)


def test_a_vertex_token_file_renewed_while_the_gateway_runs(
    gw: Running, fakes: tuple[FakeGemini, FakeBedrock], tmp_path: Path
) -> None:
    gemini, _ = fakes
    assert "안녕" in _ask(gw, "vtx")
    gemini.token = TOKEN_B  # the first token expired upstream
    with pytest.raises(openai.InternalServerError) as refused:
        _ask(gw, "vtx")
    message = str(refused.value)
    assert f"(from {tmp_path / 'vertex.token'})" in message and "renewed" in message
    assert TOKEN_A not in message
    _write(tmp_path / "vertex.token", TOKEN_B + "\n")  # the timer renews the file
    time.sleep(CHECK_SECONDS + 0.1)
    assert "안녕" in _ask(gw, "vtx")  # same process, no reload
    assert gemini.latest().headers["authorization"] == f"Bearer {TOKEN_B}"


def test_aws_sts_credentials_rotated_in_their_file_sign_the_next_requests(
    gw: Running,
    fakes: tuple[FakeGemini, FakeBedrock],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, bedrock = fakes
    assert "안녕" in _ask(gw, "claude")
    # STS issues new temporary credentials; the old ones stop working.
    monkeypatch.setattr(fake_bedrock_module, "ACCESS_KEY", NEW_ACCESS_KEY)
    monkeypatch.setattr(fake_bedrock_module, "SECRET_KEY", NEW_SECRET_KEY)
    bedrock.session_token = "sts-token-2"
    with pytest.raises(openai.InternalServerError):
        _ask(gw, "claude")
    _write(tmp_path / "aws-credentials", _aws_file(NEW_ACCESS_KEY, NEW_SECRET_KEY, "sts-token-2"))
    time.sleep(CHECK_SECONDS + 0.1)
    assert "안녕" in _ask(gw, "claude")  # signed with the new keys, no reload
    seen = bedrock.latest().headers
    assert NEW_ACCESS_KEY in seen["authorization"]
    assert seen["x-amz-security-token"] == "sts-token-2"
