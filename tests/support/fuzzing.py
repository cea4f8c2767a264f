"""Hypothesis settings for every fuzzer and property test of the suite.

In the suite (bin/test, pytest) they are derandomized (a fixed seed per test) and
bounded, so a run is the same on every machine and CI never goes red on a lucky draw.
`bin/fuzz` sets LLM_FUZZ_CAMPAIGN=1: random seeds and LLM_FUZZ_SCALE (20) times as
many examples, to look for what the fixed draws miss; a failure prints how to replay it.
"""

import os

from hypothesis import HealthCheck, settings

CAMPAIGN = os.getenv("LLM_FUZZ_CAMPAIGN") == "1"
SCALE = int(os.getenv("LLM_FUZZ_SCALE", "20"))


def fuzz_settings(examples: int) -> settings:
    """`examples` per test in the suite; many more, unseeded, in a campaign."""
    return settings(
        max_examples=examples * SCALE if CAMPAIGN else examples,
        derandomize=not CAMPAIGN,
        print_blob=CAMPAIGN,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
