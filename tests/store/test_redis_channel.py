"""Deployments that share one Redis do not wake each other: the control channel is derived from
where each deployment's control store is — the same on every node of one deployment."""

from __future__ import annotations

from pathlib import Path

import pytest

from sumun import config
from sumun.store.control import open_control


def test_each_deployment_has_its_own_redis_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = open_control(config.load(home=tmp_path / "a", env={}))
    b = open_control(config.load(home=tmp_path / "b", env={}))
    again = open_control(config.load(home=tmp_path / "a", env={}))
    assert a.redis_channel != b.redis_channel
    assert a.redis_channel == again.redis_channel
    assert a.redis_channel.startswith("sumun:control:")

    env = {"SUMUN_CONTROL_STORE": "postgres"}
    monkeypatch.setenv("SUMUN_CONTROL_DSN", "postgresql://u:secret@db.internal/sumun")
    node1 = open_control(config.load(home=tmp_path / "n1", env=env))
    node2 = open_control(config.load(home=tmp_path / "n2", env=env))
    channel = node1.redis_channel
    assert channel == node2.redis_channel  # every node of one deployment agrees
    assert "secret" not in channel
    monkeypatch.setenv("SUMUN_CONTROL_DSN", "postgresql://u:secret@other.internal/sumun")
    other = open_control(config.load(home=tmp_path / "n1", env=env))
    assert other.redis_channel != channel
