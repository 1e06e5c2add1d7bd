"""Where thumbsmith's time goes: each named step of ``thumbsmith.imaging.steps.STEPS``.

Run: ``uv run python bench/steps.py [--reps 15]``. One thread (as in the benchmark),
median ms per step over the reps, per bench input, after one warm-up.

libvips is lazy: ``load``, ``to_srgb``, ``flatten`` only build the graph, and the decode
runs inside ``resize_largest`` (the one ``copy_memory()`` over the decoder). Also printed:
the decode alone at the same shrink (``jpegload shrink=N`` into memory) for JPEGs, so
``resize_largest`` − decode is the resize of the largest rendition.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("VIPS_CONCURRENCY", "1")

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from w3 import INPUTS  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    try:
        import pyvips

        from thumbsmith.core import RenderOptions, configure, parse_renditions
        from thumbsmith.core.job import Job
        from thumbsmith.core.pipeline import STEPS
        from thumbsmith.core.steps.load import load_factor
    except ImportError as exc:
        print(f"thumbsmith's step list is not importable ({exc}); nothing to measure.")
        return 0

    configure(concurrency=1)
    specs = parse_renditions("large=1280,medium=640,thumb=160")
    options = RenderOptions()
    names = [step.name for step in STEPS]
    print(f"median ms per step, {args.reps} reps, 1 thread")
    print(
        f"{'input':<8}"
        + "".join(f"{n[:13]:>14}" for n in names)
        + f"{'total':>9}"
        + f"{'decode':>9}"
    )
    for inp in INPUTS:
        data = inp.path.read_bytes()
        times: dict[str, list[float]] = {n: [] for n in names}
        decode: list[float] = []
        shrink = 1
        for rep in range(args.reps + 1):
            job = Job(data, specs, options, name=inp.path.name)
            for step in STEPS:
                t0 = time.perf_counter()
                step.run(job)
                if rep:
                    times[step.name].append((time.perf_counter() - t0) * 1e3)
            if inp.kind == "jpeg":
                head = pyvips.Image.new_from_buffer(data, "")
                factor = load_factor(head.width, head.height, specs)
                shrink = max(s for s in (1, 2, 4, 8) if s <= factor)
                t0 = time.perf_counter()
                pyvips.Image.jpegload_buffer(data, shrink=shrink).copy_memory()
                if rep:
                    decode.append((time.perf_counter() - t0) * 1e3)
        med = {n: statistics.median(v) for n, v in times.items()}
        dec = f"{statistics.median(decode):>6.1f}/{shrink}" if decode else f"{'—':>9}"
        print(
            f"{inp.key:<8}"
            + "".join(f"{med[n]:>14.1f}" for n in names)
            + f"{sum(med.values()):>9.1f}"
            + dec
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
