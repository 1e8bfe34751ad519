"""Test-suite configuration: the hypothesis profiles.

CI (the ``CI`` environment variable is set, as ``.ci/run`` does) runs every property test
derandomised: the same examples on every run, so a red CI is reproducible and a green one
does not depend on the draw. Locally the exploration stays random, which is how new
failures are found; ``HYPOTHESIS_PROFILE=ci`` reproduces CI's draw on a laptop.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
