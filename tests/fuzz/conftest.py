"""Hypothesis profiles of the standing fuzz suite (tests/fuzz).

* ``fuzz-fast`` (default): 25 derandomized examples per property (the same every run), so ``make test``
  stays fast and deterministic;
* ``fuzz-long``: 1,500 fresh random examples per property for a dedicated run, e.g.
  ``VPS_FUZZ_PROFILE=fuzz-long pytest tests/fuzz -n 2 --hypothesis-show-statistics``
  (or ``--hypothesis-profile fuzz-long``).

Each property says: a malformed input gives a clear ``DataError`` / ``ValueError`` (exit 2 for CLIs, one
line), never another exception, never a partial file.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "print_blob": True,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                     HealthCheck.data_too_large]}
# make test: the same examples every run (no flaky CI); the long profile explores fresh ones each time
settings.register_profile("fuzz-fast", max_examples=25, derandomize=True, **_COMMON)
settings.register_profile("fuzz-long", max_examples=1500, derandomize=False, **_COMMON)
settings.load_profile(os.environ.get("VPS_FUZZ_PROFILE", "fuzz-fast"))
