"""Configuration: sumun.yaml + environment, typed; errors name the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sumun import config
from sumun.crypto.hazmat.aead import Suite
from sumun.errors import ConfigError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = config.load(home=tmp_path / "h", env={})
    assert settings.keys.backend == "embedded"
    assert settings.keys.suite is Suite.AES_256_GCM
    assert settings.keys.revocation_ttl_seconds <= 5
    assert settings.server.port == 8480
    assert settings.config_file is None


def test_file_in_home_and_environment_overrides(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "sumun.yaml").write_text(
        "keys:\n  backend: openbao\n  suite: aria-256-gcm\n  openbao:\n    timeout: 1.5\n"
    )
    settings = config.load(home=home, env={"SUMUN_OPENBAO_ADDR": "http://127.0.0.1:9999"})
    assert settings.keys.backend == "openbao"
    assert settings.keys.suite is Suite.ARIA_256_GCM
    assert settings.keys.openbao.address == "http://127.0.0.1:9999"
    assert settings.keys.openbao.timeout == 1.5
    env = {"SUMUN_KEYS_BACKEND": "pkcs11", "SUMUN_PKCS11_TOKEN": "hsm-a"}
    overridden = config.load(home=home, env=env)
    assert overridden.keys.backend == "pkcs11"
    assert overridden.keys.pkcs11.token_label == "hsm-a"


def test_sumun_home_from_environment(tmp_path: Path) -> None:
    settings = config.load(env={"SUMUN_HOME": str(tmp_path / "x")})
    assert settings.home == (tmp_path / "x").resolve()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("keys:\n  backend: cloud\n", r"keys\.backend"),
        ("keys:\n  revocation_ttl_seconds: 600\n", r"keys\.revocation_ttl_seconds"),
        ("keys:\n  pin: '1234'\n", r"keys\.pin: Extra inputs are not permitted"),
        ("server:\n  port: 70000\n", r"server\.port"),
        ("keys: [1, 2\n", "not valid YAML"),
        ("- just\n- a list\n", "top level must be a mapping"),
    ],
)
def test_invalid_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sumun.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        config.load(config_file=path, home=tmp_path / "h", env={})


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(config_file=tmp_path / "nope.yaml", env={})
    with pytest.raises(ConfigError, match="SUMUN_CONFIG names a missing file"):
        config.load(home=tmp_path, env={"SUMUN_CONFIG": str(tmp_path / "nope.yaml")})


def test_a_home_set_in_the_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "sumun.yaml"
    path.write_text("home: /etc\n")
    settings = config.load(config_file=path, home=tmp_path / "h", env={})
    assert settings.home == (tmp_path / "h").resolve()


def test_kek_max_wraps_is_clamped_to_the_gcm_random_nonce_limit(tmp_path: Path) -> None:
    """SP 800-38D §8.3: at most 2^32 encryptions with random 96-bit nonces per key (issue 19)."""
    (tmp_path / "sumun.yaml").write_text("keys: {kek_max_wraps: 1099511627776}\n")
    with pytest.raises(ConfigError, match="kek_max_wraps"):
        config.load(home=tmp_path, env={})
    (tmp_path / "sumun.yaml").write_text("keys: {kek_max_wraps: 4294967296}\n")
    assert config.load(home=tmp_path, env={}).keys.kek_max_wraps == 2**32
