"""Shared test setup. Real servers (OpenBao dev server, SoftHSM2 token) come from fixtures.

Under CI=true a missing real component is a failure, not a skip.
"""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.softhsm",
    "tests.fixtures.openbao",
    "tests.fixtures.postgres",
    "tests.fixtures.fake_upstream",
    "tests.fixtures.redis",
    "tests.fixtures.netns",
    "tests.fixtures.log_guard",  # no log record of the suite carries a key or a planted value
]
