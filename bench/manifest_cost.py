"""What the manifest and the placeholders add to a render, as a ratio.

For each input, the pipeline's steps are run one by one on a Job (as bench/steps.py
does) and timed: the ``placeholder`` step (ThumbHash, colour, data URI from the smallest
output) against every other step (the render), plus building and encoding the manifest
from the result. Medians of CPU time (the process's, so other load on a shared machine
matters less) over the reps, one process, one libvips thread (Lambda's one
vCPU). Storage is left out: the manifest costs one extra small PUT (one more HEAD on a
skip), which is a request, not CPU.

    uv run python bench/manifest_cost.py [--reps 15] [--renditions SPEC]

``--renditions`` takes any rendition string (with formats once renditions have them);
the default is W3 (three JPEGs).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from thumbsmith.core import RenderOptions, configure, parse_renditions
from thumbsmith.core.job import Job
from thumbsmith.core.pipeline import STEPS
from thumbsmith.core.result import EXTENSIONS, RenderResult
from thumbsmith.service import manifest
from thumbsmith.service.renditions import StoredRendition

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT.parent / "shared" / "bench-images"
INPUTS = ["photo12mp.jpg", "photo22mp.jpg", "rgba.png", "photo.gif"]
W3 = "large=1280,medium=640,thumb=160"


def build_manifest(result: RenderResult, specs: Any) -> bytes:
    entries = [
        StoredRendition(
            "photos-output",
            f"{r.name}/images/x.{EXTENSIONS[r.format]}",
            r.format,
            r.width,
            r.height,
            len(r.data),
            r.name,
            "0" * 32,
        )
        for r in result.renditions
    ]
    body = manifest.build(
        manifest.SourceInfo("photos", "images/x", "0" * 32, 1, "image/jpeg"),
        result.source,
        entries,
        specs,
        output_bucket="photos-output",
        manifest_key="manifest/images/x.json",
        placeholder=result.placeholder,
        base_url="https://cdn.example.com/",
    )
    return manifest.encode(body)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--renditions", default=W3)
    args = ap.parse_args()
    configure(1)
    specs = parse_renditions(args.renditions)
    options = RenderOptions()
    print(f"renditions {args.renditions}; median CPU ms of {args.reps}, 1 libvips thread")
    print(f"{'input':<16}{'render':>9}{'placeholder':>13}{'manifest':>10}{'ratio':>8}"
          f"{'manifest B':>12}{'data URI B':>12}")  # fmt: skip
    ratios = []
    for name in INPUTS:
        data = (IMAGES / name).read_bytes()
        rendering: list[float] = []
        placing: list[float] = []
        building: list[float] = []
        for rep in range(args.reps + 1):
            job = Job(data, specs, options, name=name)
            spent = {"render": 0.0, "placeholder": 0.0}
            for step in STEPS:
                t0 = time.process_time()
                step.run(job)
                key = "placeholder" if step.name == "placeholder" else "render"
                spent[key] += time.process_time() - t0
            result = RenderResult(job.facts(), job.renditions, job.placeholder)
            t0 = time.process_time()
            blob = build_manifest(result, specs)
            built = time.process_time() - t0
            if rep:  # the first is the warm-up
                rendering.append(spent["render"])
                placing.append(spent["placeholder"])
                building.append(built)
        r, p, m = (statistics.median(x) * 1000 for x in (rendering, placing, building))
        ratio = (r + p + m) / r
        ratios.append(ratio)
        uri = len(result.placeholder.data_uri) if result.placeholder else 0
        print(f"{name:<16}{r:>9.1f}{p:>13.2f}{m:>10.2f}{ratio:>8.3f}{len(blob):>12}{uri:>12}")
    print(f"geometric mean of (render + placeholder + manifest) / render: "
          f"{statistics.geometric_mean(ratios):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
