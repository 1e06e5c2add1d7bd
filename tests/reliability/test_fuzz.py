"""Short seeded fuzz run of render() inside the suite; the long run is ./scripts/fuzz.

Each input runs in a child process (tests/support/fuzzing.py), so a segfault in
libvips is reported as a crash of that input instead of taking pytest down.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.fuzzing import TIME_BOUND_S, Harness, Result, is_finding, mutate, seed_files

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
FILES = seed_files()
POOL = [p.read_bytes() for p in FILES]


def describe(result: Result) -> str:
    return f"{result.status} {result.type} {result.msg} ({result.seconds:.1f} s)"


@pytest.mark.skipif(not FILES, reason="corpus not found at ../shared/corpus")
@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,  # the in-suite run is the same every time; ./scripts/fuzz explores
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    index=st.integers(min_value=0, max_value=max(0, len(FILES) - 1)),
    rng=st.randoms(use_true_random=False),
)
def test_mutated_corpus_files_give_renditions_or_typed_errors(
    harness: Harness, index: int, rng: object
) -> None:
    import random

    assert isinstance(rng, random.Random)
    data = mutate(POOL[index], rng, POOL)
    result = harness.run(data)
    assert not is_finding(result), f"{FILES[index].name}: {describe(result)}"
    assert result.seconds < TIME_BOUND_S


def test_harness_reports_a_crash_and_recovers() -> None:
    """The detector itself: a child killed mid-input is a crash, and the next input runs."""
    with Harness(time_bound=5.0) as harness:
        assert harness.run(b"not an image").status == "typed"
        assert harness.proc is not None
        harness.proc.kill()
        assert harness.run(b"\xff\xd8\xff\xe0 whatever").status == "crash"
        assert harness.run(b"not an image").status == "typed"
        assert harness.started == 2


@pytest.mark.parametrize("path", sorted(REGRESSIONS.glob("*.bin")), ids=lambda p: p.name)
def test_regression_inputs(harness: Harness, path: Path) -> None:
    result = harness.run(path.read_bytes())
    assert not is_finding(result), describe(result)
