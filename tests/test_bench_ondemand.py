"""bench/ondemand.py still runs end to end against a real `thumbsmith origin` (a smoke
run, not a timing: the numbers are not asserted, only that every answer was right)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "ondemand.py"
IMAGES = BENCH.parents[2] / "shared" / "bench-images" / "photo12mp.jpg"


@pytest.mark.skipif(not IMAGES.exists(), reason="needs ../shared/bench-images")
def test_quick_run_against_the_origin_answers_right() -> None:
    args = ["--quick", "--peers", "thumbsmith", "--formats", "webp", "--reps", "2"]
    done = subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| thumbsmith |" in done.stdout and "| static floor |" in done.stdout
    assert "hit / static floor:" in done.stdout
    assert "PROBLEMS" not in done.stdout
