"""Fixtures for the XKS protocol tests: a test PKI made at test time, the in-memory seams."""

from __future__ import annotations

import pytest

from tests.xks.support import FakeAudit, FakeCredentials, FakeKeyring, Pki, make_pki, seams


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("xks-pki"))


@pytest.fixture
def fakes() -> tuple[FakeKeyring, FakeCredentials, FakeAudit]:
    return seams()
