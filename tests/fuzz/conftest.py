"""Hypothesis profiles of the standing fuzz suite (tests/fuzz).

* ``fuzz-fast`` (default): few examples per property, so ``make test`` stays fast;
* ``fuzz-long``: many more for a dedicated run, e.g.
  ``VPS_FUZZ_PROFILE=fuzz-long pytest tests/fuzz -n 2 --hypothesis-show-statistics``
  (or ``--hypothesis-profile fuzz-long``).

Each property says: a malformed input gives a clear ``DataError`` / ``ValueError`` (exit 2 for CLIs, one
line), never another exception, never a partial file.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "derandomize": False, "print_blob": True,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                     HealthCheck.data_too_large]}
settings.register_profile("fuzz-fast", max_examples=25, **_COMMON)
settings.register_profile("fuzz-long", max_examples=1500, **_COMMON)
settings.load_profile(os.environ.get("VPS_FUZZ_PROFILE", "fuzz-fast"))
