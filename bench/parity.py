"""Matched quality: WebP and AVIF against the JPEG q85 beside them, over every photo.

    uv run python bench/parity.py sweep [--out FILE]   # every quality of the grid (~10 min)
    uv run python bench/parity.py pick  [--out FILE]   # the lowest passing quality per class
    uv run python bench/parity.py check                # thumbsmith's defaults, + butteraugli

The photos: every ``ok`` corpus file that is a still, opaque, continuous-tone picture at
least 200 px on its long side in a photo format (JPEG, WebP, HEIF, AVIF; see
:func:`photos`), plus the bench images' photo12mp.jpg, photo22mp.jpg and photo.gif. Each
is rendered by thumbsmith's own steps (shrink-on-load, cascade) to fit 1280, 640, 320 and
160 px boxes; an output size a photo gives for two boxes (a 600 px photo in 1280 and 640)
is measured once. Each output is encoded by thumbsmith's encoders as JPEG q85 and at every
quality of the grid in WebP (effort 2) and AVIF (effort 3, and effort 4 on a coarser grid),
decoded by Pillow, and scored by SSIM on luma against the float Lanczos reference
(bench/ssim.py, the one W3 and W4 use). The gap is SSIM(format) - SSIM(JPEG q85).

``pick`` applies the rule of issue 21 per format and size class: the lowest quality at
which >= 90 % of the renditions have a gap >= -0.005 and none is below -0.02; AVIF's
quality moves SSIM in steps, so every integer is measured, nothing is interpolated.
``check`` renders every photo at thumbsmith's defaults (``quality = "match"``) and prints
per format and class the gaps, the bytes against the JPEG's and, where libjxl's
``butteraugli_main`` is installed (Debian ``libjxl-devtools``; ``bench/setup`` installs
it), the butteraugli 3-norm beside the JPEG's.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("VIPS_CONCURRENCY", "1")

import pyvips
from PIL import Image

from ssim import Reference, luma_of, ssim
from thumbsmith.core import RenderOptions, configure
from thumbsmith.core.encoders import ENCODERS
from thumbsmith.core.job import Job
from thumbsmith.core.pipeline import STEPS, run
from thumbsmith.core.quality import SIZE_CLASSES, describe, size_class
from thumbsmith.core.spec import RenditionSpec

BENCH = Path(__file__).resolve().parent
SHARED = BENCH.parent.parent / "shared"
CORPUS = SHARED / "corpus"
BENCH_PHOTOS = ("photo12mp.jpg", "photo22mp.jpg", "photo.gif")
BOXES = (1280, 640, 320, 160)
DEFAULT_OUT = Path(tempfile.gettempdir()) / "thumbsmith-parity.json"
WEBP_GRID = tuple(range(74, 97))
AVIF_GRID = tuple(range(48, 91))
AVIF_E4_GRID = tuple(range(50, 91, 2))
#: The rule of issue 21.
PARITY = -0.005
SHARE = 0.90
NEVER_BELOW = -0.02
COPY_SSIM = 0.999
PHOTO_FORMATS = ("JPEG", "WEBP", "HEIF", "AVIF")
PHOTO_MODES = ("RGB", "CMYK", "L")


def photos() -> list[Path]:
    """The corpus' ok photos (see the module's doc), then the bench photos."""
    entries = json.loads((CORPUS / "manifest.json").read_text())
    picked = [
        CORPUS / e["file"]
        for e in entries
        if e["expect"] == "ok"
        and e["format"] in PHOTO_FORMATS
        and e.get("mode") in PHOTO_MODES
        and max(e.get("width") or 0, e.get("height") or 0) >= 200
        and "alpha" not in e["file"]
    ]
    return picked + [SHARED / "bench-images" / name for name in BENCH_PHOTOS]


@dataclass(frozen=True, slots=True)
class Output:
    """One distinct output size of one photo, and every box that gives it."""

    photo: str
    boxes: tuple[int, ...]
    image: pyvips.Image

    @property
    def size(self) -> tuple[int, int]:
        return self.image.width, self.image.height


def outputs(path: Path) -> list[Output]:
    """The photo's pixels for every box, as thumbsmith's steps make them (no encode)."""
    specs = [RenditionSpec(f"b{box}", box, box) for box in BOXES]
    steps = [s for s in STEPS if s.name not in ("encode", "placeholder")]
    job = run(Job(path.read_bytes(), specs, RenderOptions(placeholders=False)), steps)
    by_size: dict[tuple[int, int], list[int]] = {}
    images: dict[tuple[int, int], pyvips.Image] = {}
    for index, box in enumerate(BOXES):
        image = job.outputs[index]
        by_size.setdefault((image.width, image.height), []).append(box)
        images[(image.width, image.height)] = image
    return [Output(path.name, tuple(b), images[s]) for s, b in by_size.items()]


def encode(fmt: str, image: pyvips.Image, quality: int, effort: int | None = None) -> bytes:
    options = RenderOptions()
    if effort is not None:
        options = RenderOptions(avif_effort=effort, webp_effort=effort)
    return ENCODERS[fmt](image, options, quality)


def score(ref: Reference, data: bytes) -> float:
    out = luma_of(data)
    return ssim(ref.luma((out.shape[1], out.shape[0])), out)


def sweep(out_file: Path, only: Sequence[str]) -> None:
    """Every point of the grids, appended to ``out_file`` as JSON lines as it goes."""
    configure(1)
    done = set()
    if out_file.exists():
        for line in out_file.read_text().splitlines():
            r = json.loads(line)
            done.add((r["photo"], r["w"], r["h"], r["fmt"], r["q"], r["effort"]))
    grid: list[tuple[str, int, int]] = [("jpeg", 85, 0)]
    grid += [("webp", q, 2) for q in WEBP_GRID]
    grid += [("avif", q, 3) for q in AVIF_GRID]
    grid += [("avif", q, 4) for q in AVIF_E4_GRID]
    with out_file.open("a") as sink:
        for path in photos():
            if only and path.name not in only:
                continue
            t0 = time.perf_counter()
            ref = Reference(path)
            for o in outputs(path):
                w, h = o.size
                for fmt, q, effort in grid:
                    if (o.photo, w, h, fmt, q, effort) in done:
                        continue
                    data = encode(fmt, o.image, q, effort or None)
                    row = {"photo": o.photo, "boxes": list(o.boxes), "w": w, "h": h}
                    row |= {"fmt": fmt, "q": q, "effort": effort, "bytes": len(data)}
                    row["ssim"] = score(ref, data)
                    sink.write(json.dumps(row) + "\n")
                sink.flush()
            print(f"{path.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)


# --- analysis -------------------------------------------------------------------------
Row = dict[str, Any]


def load_rows(out_file: Path) -> list[Row]:
    return [json.loads(line) for line in out_file.read_text().splitlines() if line.strip()]


def path_of(photo: str) -> Path:
    return next(p for p in photos() if p.name == photo)


def passthrough(photo: str, w: int, h: int) -> bool:
    """A JPEG rendered at its own size (its JPEG q85 re-encodes the decoded source on the
    same 8x8 grid)."""
    path = path_of(photo)
    with Image.open(path) as im:
        if im.format != "JPEG":
            return False
        sw, sh = im.size
        if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):
            sw, sh = sh, sw
    return (sw, sh) == (w, h)


def renditions(
    rows: Iterable[Row], boxes: Sequence[int], *, same_size: bool = False
) -> dict[tuple[str, int, int], dict[str, Row]]:
    """(photo, w, h) -> {"jpeg": row, "webp@80e2": row, ...} for outputs of those boxes
    (``same_size``: only those whose JPEG is a copy, see :func:`is_copy`; else the rest)."""
    out: dict[tuple[str, int, int], dict[str, Row]] = {}
    for r in rows:
        if not set(r["boxes"]) & set(boxes):
            continue
        label = "jpeg" if r["fmt"] == "jpeg" else f"{r['fmt']}@{r['q']}e{r['effort']}"
        out.setdefault((r["photo"], r["w"], r["h"]), {})[label] = r
    return {k: v for k, v in out.items() if is_copy(k, v) == same_size}


def is_copy(key: tuple[str, int, int], formats: dict[str, Row]) -> bool:
    """The JPEG q85 is a copy of the source, not an encode: a JPEG kept at its own size
    whose re-encode is within 0.001 SSIM of its own decode (imagers__cat.jpg: 1.0000).
    No other format can be that at a useful size (WebP needs q93 for -0.02 there), so
    these are left out of the rule and printed apart."""
    return formats["jpeg"]["ssim"] >= COPY_SSIM and passthrough(*key)


@dataclass(frozen=True, slots=True)
class Verdict:
    label: str
    n: int
    share: float  # of renditions with gap >= PARITY
    worst: float
    median_ratio: float  # median of bytes / JPEG bytes
    ratio_of_medians: float

    @property
    def ok(self) -> bool:
        return self.share >= SHARE and self.worst >= NEVER_BELOW

    def line(self) -> str:
        return (
            f"| {self.label} | {self.n} | {self.share * 100:.0f} % | {self.worst:+.4f} | "
            f"{self.median_ratio:.3f} | {self.ratio_of_medians:.3f} | {'ok' if self.ok else ''} |"
        )


def verdict(label: str, group: dict[tuple[str, int, int], dict[str, Row]]) -> Verdict | None:
    gaps, ratios, mine, theirs = [], [], [], []
    for formats in group.values():
        if label not in formats or "jpeg" not in formats:
            return None
        jpeg, row = formats["jpeg"], formats[label]
        gaps.append(row["ssim"] - jpeg["ssim"])
        ratios.append(row["bytes"] / jpeg["bytes"])
        mine.append(row["bytes"])
        theirs.append(jpeg["bytes"])
    if not gaps:
        return None
    share = sum(g >= PARITY for g in gaps) / len(gaps)
    return Verdict(
        label,
        len(gaps),
        share,
        min(gaps),
        statistics.median(ratios),
        statistics.median(mine) / statistics.median(theirs),
    )


def pick(out_file: Path, groups: Sequence[Sequence[int]]) -> None:
    rows = load_rows(out_file)
    labels = sorted({f"{r['fmt']}@{r['q']}e{r['effort']}" for r in rows if r["fmt"] != "jpeg"})
    for boxes in groups:
        apart = renditions(rows, boxes, same_size=True)
        for (photo, w, h), formats in apart.items():
            jpeg = formats["jpeg"]["ssim"]
            points = ", ".join(
                f"{lb} {r['ssim'] - jpeg:+.4f}"
                for lb, r in formats.items()
                if lb in ("webp@84e2", "webp@90e2", "avif@67e3", "avif@75e3")
            )
            print(f"\nleft out, the JPEG is a copy: {photo} {w}x{h}, JPEG {jpeg:.4f}: {points}")
        group = renditions(rows, boxes)
        print(f"\n== boxes {'+'.join(map(str, boxes))}: {len(group)} renditions ==")
        print("| point | n | gap >= -0.005 | worst gap | bytes ÷ JPEG (median) | of medians | ok |")
        print("|---|---|---|---|---|---|---|")
        for fmt, effort in (("webp", 2), ("avif", 3), ("avif", 4)):
            mine = [lb for lb in labels if lb.startswith(fmt) and lb.endswith(f"e{effort}")]
            verdicts = [v for v in (verdict(lb, group) for lb in mine) if v is not None]
            verdicts.sort(key=lambda v: int(v.label.split("@")[1].split("e")[0]))
            first = next((i for i, v in enumerate(verdicts) if v.ok), None)
            # The lowest passing point, its neighbours, and a few below for the record.
            show = verdicts if first is None else verdicts[max(0, first - 3) : first + 2]
            for v in show:
                print(v.line())


# --- check: the defaults, with butteraugli ---------------------------------------------
def butteraugli(reference: Path, distorted: Path) -> float | None:
    """libjxl's butteraugli 3-norm (lower is better; ~1 is 'just noticeable')."""
    tool = shutil.which("butteraugli_main")
    if tool is None:
        return None
    out = subprocess.run(
        [tool, str(reference), str(distorted), "--pnorm", "3"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if "norm" in line:
            return float(line.split(":")[1])
    return None


def png_of(data: bytes, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    with Image.open(io.BytesIO(data)) as im:
        im.convert("RGB").save(path)
    return path


Result = tuple[float, float, float | None, float | None]  # gap, bytes ratio, BA, BA JPEG


def check(with_butteraugli: bool) -> int:
    """thumbsmith's defaults: per format and class the gap and bytes against the JPEG."""
    configure(1)
    options = RenderOptions()
    results: dict[tuple[str, str], list[Result]] = {}
    use_ba = with_butteraugli and shutil.which("butteraugli_main") is not None
    with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
        folder = Path(tmp)
        ref_png = folder / "ref.png"
        for path in photos():
            ref = Reference(path)
            for o in outputs(path):
                jpeg = encode("jpeg", o.image, 85)
                j_ssim = score(ref, jpeg)
                if j_ssim >= COPY_SSIM and passthrough(path.name, *o.size):
                    print(f"left out, the JPEG is a copy: {path.name} {o.size}", file=sys.stderr)
                    continue
                j_ba = None
                if use_ba:
                    Image.fromarray(ref.rgb8(o.size)).save(ref_png)
                    j_ba = butteraugli(ref_png, png_of(jpeg, folder, "jpeg"))
                # One output can stand for boxes of two classes (a 250 px photo in 1280
                # and 320): it counts in each, at that class's quality.
                for box in {size_class(b, b): b for b in o.boxes}.values():
                    spec = RenditionSpec("x", box, box, formats=("webp", "avif"))
                    for fmt in spec.formats:
                        data = encode(fmt, o.image, options.quality_for(spec, fmt) or 0)
                        gap = score(ref, data) - j_ssim
                        ba = butteraugli(ref_png, png_of(data, folder, fmt)) if use_ba else None
                        results.setdefault((fmt, size_class(box, box)), []).append(
                            (gap, len(data) / len(jpeg), ba, j_ba)
                        )
            print(f"{path.name} done", file=sys.stderr)
    return print_check(results)


def print_check(results: dict[tuple[str, str], list[Result]]) -> int:
    options = RenderOptions()
    knobs = "; ".join(describe(f, options.setting_for(f) or 0) for f in ("webp", "avif"))
    print(
        f"\nthumbsmith's defaults: {knobs}; WebP effort {options.webp_effort}, AVIF effort "
        f"{options.avif_effort}"
    )
    print(
        "| format | class | n | gap >= -0.005 | worst gap | median gap | bytes ÷ JPEG "
        "(median) | butteraugli 3-norm, median: format / JPEG |"
    )
    print("|---|---|---|---|---|---|---|---|")
    failed = 0
    for fmt in ("webp", "avif"):
        for cls, _ in SIZE_CLASSES:
            got = results.get((fmt, cls), [])
            if not got:
                continue
            gaps = [g for g, _, _, _ in got]
            share = sum(g >= PARITY for g in gaps) / len(gaps)
            ok = share >= SHARE and min(gaps) >= NEVER_BELOW
            failed += not ok
            ba = [b for _, _, b, _ in got if b is not None]
            jba = [b for _, _, _, b in got if b is not None]
            ba_text = f"{statistics.median(ba):.3f} / {statistics.median(jba):.3f}" if ba else "—"
            print(
                f"| {fmt} | {cls} | {len(gaps)} | {share * 100:.0f} % | {min(gaps):+.4f} | "
                f"{statistics.median(gaps):+.4f} | "
                f"{statistics.median(r for _, r, _, _ in got):.3f} | {ba_text} |"
            )
    print(f"\n{'PASS' if not failed else 'FAIL'}: parity rule (>= 90 % within 0.005, none < -0.02)")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("mode", choices=("sweep", "pick", "check"))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the sweep's JSON lines")
    ap.add_argument("--only", default="", help="comma list of photo file names (sweep)")
    ap.add_argument(
        "--groups", default="1280,640,320,160", help="pick: box groups, e.g. 1280+640,320+160"
    )
    ap.add_argument("--no-butteraugli", action="store_true")
    args = ap.parse_args(argv)
    if args.mode == "sweep":
        sweep(args.out, [n for n in args.only.split(",") if n])
        return 0
    if args.mode == "pick":
        pick(args.out, [[int(b) for b in g.split("+")] for g in args.groups.split(",")])
        return 0
    return check(not args.no_butteraugli)


if __name__ == "__main__":
    raise SystemExit(main())
