"""Cold-start cost of the Lambda handler module: what a fresh interpreter pays to import it.

Prints, for ``import thumbsmith.aws_lambda`` (or ``--module``):

* the total of ``python -X importtime`` (the cumulative time of the top-level import), and
  the ten slowest imports below it;
* the wall time of a fresh interpreter doing only that import, minus nothing (interpreter
  start-up included, as on Lambda), and of a bare ``python -c pass`` for comparison;

each the median of ``--runs`` (default 5). A missing module is reported, not a crash.

Run: ``uv run python bench/coldstart.py``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

MODULE = "thumbsmith.aws_lambda"


def importtime(module: str) -> tuple[float, list[tuple[float, str]]]:
    """Total µs of the module's import, and (cumulative µs, name) of its direct imports."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or ["?"]
        raise RuntimeError(last[0])
    rows: list[tuple[float, str]] = []
    total = 0.0
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        cum_us, name = float(parts[1]), parts[2][1:]  # keep the nesting indentation
        # -X importtime prints children before their parent, two spaces a level
        if name == module:
            total = cum_us
            break
        if not name.startswith(" "):
            rows = []  # an earlier top-level import (interpreter start-up, the package)
        elif not name.startswith("   "):
            rows.append((cum_us, name.strip()))
    return total, rows


def wall(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return (time.perf_counter() - t0) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module", default=MODULE)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    try:
        totals = []
        rows: list[tuple[float, str]] = []
        for _ in range(args.runs):
            total, rows = importtime(args.module)
            totals.append(total)
    except RuntimeError as exc:
        print(f"{args.module}: cannot be imported yet ({exc}); nothing to measure.")
        return 0

    walls = [wall(f"import {args.module}") for _ in range(args.runs)]
    bare = [wall("pass") for _ in range(args.runs)]
    print(
        f"cold start of `import {args.module}` ({sys.executable}, Python "
        f"{sys.version.split()[0]}), median of {args.runs}:"
    )
    print(f"  -X importtime, cumulative:              {statistics.median(totals) / 1e3:8.1f} ms")
    print(f"  fresh interpreter + import, wall:       {statistics.median(walls):8.1f} ms")
    print(f"  fresh interpreter alone (-c pass), wall: {statistics.median(bare):8.1f} ms")
    print("  its slowest direct imports (cumulative ms, last run):")
    for cum, name in sorted(rows, reverse=True)[:10]:
        print(f"    {cum / 1e3:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
