"""Fuzzing profiles: a short, repeatable run in `make test`, a long, searching one in `make fuzz`.

`SUMUN_FUZZ_PROFILE` picks one (default `ci`):

- `ci`: every test runs `examples` examples (its own small number, see `fuzz()`), derandomized
  so a red `make test` is reproducible from the commit alone; the whole directory stays within
  about a minute on a 2-core CI machine;
- `long`: 50x the examples, random, with Hypothesis's example database (`.hypothesis/`, git
  ignored): each run looks somewhere new, and a failure found once is replayed first next time
  until it is fixed.

The profiles are applied per test (`@fuzz(n)`), never loaded globally: the other Hypothesis
tests in the suite keep their own settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILES = ("ci", "long")
_CHOSEN = os.environ.get("SUMUN_FUZZ_PROFILE", "ci")
if _CHOSEN not in PROFILES:
    raise ValueError(f"SUMUN_FUZZ_PROFILE must be one of {', '.join(PROFILES)}, not {_CHOSEN!r}")

_COMMON = {
    "deadline": None,  # time is checked by the tests' own per-example bounds
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,  # a failure prints @reproduce_failure(...) to paste into the test
}
settings.register_profile("sumun-fuzz-ci", derandomize=True, database=None, **_COMMON)
settings.register_profile("sumun-fuzz-long", derandomize=False, **_COMMON)
