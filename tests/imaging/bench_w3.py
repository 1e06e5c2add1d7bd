"""W3 benchmark: one image -> 1280/640/160 JPEG q85. Not a test; run it by hand.

    uv run python tests/imaging/bench_w3.py [--margin 1.0] [--runs 10]

Prints ms per image (median of runs, one libvips thread), peak RSS of a fresh process
rendering that image once, and SSIM of the 640 px rendition against a float Lanczos3
reference made from the full-size decode.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyvips

from thumbsmith.core import configure, render, steps
from thumbsmith.core.spec import parse_renditions

BENCH = Path(__file__).resolve().parents[2] / ".." / "shared" / "bench-images"
SPECS = parse_renditions("large=1280,medium=640,thumb=160")


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two greyscale float images (Gaussian window, sigma 1.5)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x = np.arange(-5, 6)
    g = np.exp(-(x**2) / (2 * 1.5**2))
    g /= g.sum()

    def blur(im: np.ndarray) -> np.ndarray:
        im = np.apply_along_axis(lambda r: np.convolve(r, g, mode="valid"), 1, im)
        return np.apply_along_axis(lambda c: np.convolve(c, g, mode="valid"), 0, im)

    mu_a, mu_b = blur(a), blur(b)
    saa = blur(a * a) - mu_a**2
    sbb = blur(b * b) - mu_b**2
    sab = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * sab + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2)
    return float((num / den).mean())


def luma(image: pyvips.Image) -> np.ndarray:
    image = image.colourspace("b-w").cast("float")
    return np.ndarray(
        buffer=image.write_to_memory(), dtype=np.float32, shape=(image.height, image.width)
    ).astype(np.float64)


def reference_640(data: bytes, size: tuple[int, int]) -> np.ndarray:
    full = pyvips.Image.new_from_buffer(data, "", access="sequential").autorot()
    full = full.colourspace("srgb")
    if full.hasalpha():
        full = full.flatten(background=[255, 255, 255])
    ref = full.cast("float").resize(
        size[0] / full.width, vscale=size[1] / full.height, kernel="lanczos3"
    )
    return luma(ref)


# Run in a fresh interpreter that imports only what a worker would (no numpy).
CHILD = """
import resource, sys
from pathlib import Path
from thumbsmith.core import configure, steps
from thumbsmith.core import render
from thumbsmith.core.spec import parse_renditions
configure(concurrency=1)
steps.SHRINK_MARGIN = float(sys.argv[2])
def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1
before = hwm()
render(Path(sys.argv[1]).read_bytes(), parse_renditions("large=1280,medium=640,thumb=160"))
print(before, hwm())
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--margin", type=float, default=steps.SHRINK_MARGIN)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    configure(concurrency=1)
    steps.SHRINK_MARGIN = args.margin
    results = {}
    for name in ("photo12mp.jpg", "photo22mp.jpg", "rgba.png", "photo.gif"):
        data = (BENCH / name).read_bytes()
        render(data, SPECS)  # warm up
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            out = render(data, SPECS)
            times.append((time.perf_counter() - t) * 1000)
        medium = pyvips.Image.new_from_buffer(out[1].data, "")
        score = ssim(luma(medium), reference_640(data, (out[1].width, out[1].height)))
        rss = subprocess.run(
            [sys.executable, "-c", CHILD, str(BENCH / name), str(args.margin)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        results[name] = {
            "ms_median": round(statistics.median(times), 1),
            "ms_min": round(min(times), 1),
            "peak_rss_mb": int(rss[1]),
            "rss_after_imports_mb": int(rss[0]),
            "ssim_640": round(score, 4),
        }
        print(name, results[name], flush=True)
    print(json.dumps({"margin": args.margin, **results}))


if __name__ == "__main__":
    main()
