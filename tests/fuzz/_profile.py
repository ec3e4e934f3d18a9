"""`fuzz(n)`: the settings of the chosen fuzzing profile for a test that runs `n` examples in CI
(the profiles are registered in conftest.py)."""

from __future__ import annotations

import os

from hypothesis import settings

__all__ = ["LONG", "fuzz"]

LONG = os.environ.get("SUMUN_FUZZ_PROFILE", "ci") == "long"
_SCALE = int(os.environ.get("SUMUN_FUZZ_SCALE", "50"))  # long profile: examples x this


def fuzz(examples: int) -> settings:
    profile = settings.get_profile("sumun-fuzz-long" if LONG else "sumun-fuzz-ci")
    return settings(profile, max_examples=examples * _SCALE if LONG else examples)
