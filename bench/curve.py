"""The effort/quality curve behind thumbsmith's WebP and AVIF defaults.

    uv run python bench/curve.py [--input photo12mp.jpg] [--full]

Renders the 1280/640/160 px fit-inside pixels of one photo once (thumbsmith's own steps),
then encodes them at each (quality, effort) of a grid with libvips, one thread, and
prints the summed bytes and encode ms relative to sharp's documented defaults encoded by
the same libvips (AVIF quality 50 effort 4 4:4:4; WebP quality 80 effort 4), and the SSIM
change on luma against the float reference (bench/ssim.py) per size. "ok" marks a point
within the W4 targets: bytes <= 1.05x and SSIM >= -0.005 at every size.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pyvips

from ssim import Reference, luma_of, ssim
from thumbsmith.core import RenderOptions, configure
from thumbsmith.core.job import Job
from thumbsmith.core.pipeline import STEPS, run
from thumbsmith.core.spec import parse_renditions

IMAGES = (Path(__file__).resolve().parents[1] / ".." / "shared" / "bench-images").resolve()
Encode = Callable[[pyvips.Image], bytes]


def avif(q: int, effort: int, sub: str) -> Encode:
    return lambda im: bytes(
        im.heifsave_buffer(
            compression="av1", Q=q, effort=effort, subsample_mode=sub, bitdepth=8, keep="none"
        )
    )


def webp(q: int, effort: int) -> Encode:
    return lambda im: bytes(
        im.webpsave_buffer(Q=q, effort=effort, smart_subsample=False, alpha_q=100, keep="none")
    )


def measure(
    images: Sequence[pyvips.Image], ref: Reference, enc: Encode, reps: int
) -> tuple[int, float, list[float]]:
    total, ms, scores = 0, 0.0, []
    for im in images:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            data = enc(im)
            times.append((time.perf_counter() - t0) * 1e3)
        out = luma_of(data)
        total += len(data)
        ms += statistics.median(times)
        scores.append(ssim(ref.luma((im.width, im.height)), out))
    return total, ms, scores


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--input", default="photo12mp.jpg")
    ap.add_argument("--full", action="store_true", help="the whole grid (slow: AVIF effort 9)")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    configure(1)
    path = IMAGES / args.input
    specs = parse_renditions("large=1280,medium=640,thumb=160")
    job = run(
        Job(path.read_bytes(), specs, RenderOptions()), [s for s in STEPS if s.name != "encode"]
    )
    images = [job.outputs[i] for i in range(len(specs))]
    ref = Reference(path)
    efforts = range(0, 10 if args.full else 6)
    grids: dict[str, tuple[Encode, list[tuple[str, Encode]]]] = {
        "avif": (
            avif(50, 4, "off"),
            [
                (f"Q{q} e{e} {'4:2:0' if sub == 'on' else '4:4:4'}", avif(q, e, sub))
                for q in (45, 50, 55)
                for e in efforts
                for sub in ("on", "off")
            ],
        ),
        "webp": (
            webp(80, 4),
            [(f"Q{q} e{e}", webp(q, e)) for q in (78, 79, 80, 82) for e in range(0, 7)],
        ),
    }
    for fmt, (base_enc, grid) in grids.items():
        b0, ms0, s0 = measure(images, ref, base_enc, args.reps)
        print(f"\n{fmt} on {args.input}, 1280+640+160 px; sharp's default: {b0} B, {ms0:.0f} ms")
        print("| point | bytes | x sharp | ms | x sharp | ΔSSIM 1280/640/160 | ok |")
        print("|---|---|---|---|---|---|---|")
        for label, enc in grid:
            b, ms, s = measure(images, ref, enc, args.reps)
            d = [a - c for a, c in zip(s, s0, strict=True)]
            ok = b <= 1.05 * b0 and min(d) >= -0.005
            deltas = "/".join(f"{x:+.4f}" for x in d)
            print(
                f"| {label} | {b} | {b / b0:.3f} | {ms:.0f} | {ms / ms0:.2f} | {deltas} | "
                f"{'ok' if ok else ''} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
