"""W4: each photo -> large/medium/thumb (1280/640/160, fit inside) in AVIF + WebP + JPEG and
a 400x400 attention-cropped card in WebP; thumbsmith, sharp and the floor side by side.

    uv run python bench/w4.py            # 12 MP + 22 MP JPEG, 7 reps
    uv run python bench/w4.py --quick    # 3 reps

Comparison at matched quality: thumbsmith runs its defaults (``quality = "match"``: WebP
and AVIF as good as the JPEG q85 beside them, per size class; core/quality.py), one
render() for the whole set; **sharp** gets the same quality numbers per output and keeps
its own effort (AVIF 4, WebP 4), 4:4:4 AVIF chroma and other defaults, one pipeline per
output. The targets are per format: bytes <= 1.05x sharp's, mean SSIM >= sharp's -
0.005, and time <= 0.6x sharp's. **sharp defaults** (AVIF quality 50, WebP quality 80,
as before) is the second table, for the record: no target. JPEG q85 progressive as in
W3 for all. One thread each (Lambda at 1769 MB has one vCPU). Interleaved: every
repetition runs every peer once, in an order that rotates. ms are medians measured
inside the workers; bytes per format are summed over the sizes; SSIM is on luma against
a float Lanczos reference (bench/ssim.py), for the card against the reference cover
image at the window each peer chose (found by search along the free axis, since neither
reports it the same way).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ssim import F64, Reference, luma_of, ssim
from thumbsmith.core import RenderOptions
from thumbsmith.core.spec import parse_renditions

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
IMAGES = (ROOT / ".." / "shared" / "bench-images").resolve()
INPUTS = ("photo12mp.jpg", "photo22mp.jpg")
PEERS = ("thumbsmith", "sharp", "sharp-defaults", "floor")
FORMATS = ("avif", "webp", "jpg", "card")
#: The same set as peers/w4_pyworker.py's W4.
W4 = parse_renditions(
    "large=1280:avif+webp+jpeg,medium=640:avif+webp+jpeg,thumb=160:avif+webp+jpeg,"
    "card=400:cover:attention:webp"
)
#: The quality numbers thumbsmith encodes each output at, for sharp.
QUALITY = {
    spec.name: {f: RenderOptions().quality_for(spec, f) for f in spec.formats if f != "jpeg"}
    for spec in W4
}


class Worker:
    def __init__(self, peer: str) -> None:
        env = dict(os.environ)
        env.update(VIPS_CONCURRENCY="1", OMP_NUM_THREADS="1", UV_THREADPOOL_SIZE="1")
        env.update(SHARP_CONCURRENCY="1", PYTHONDONTWRITEBYTECODE="1")
        if peer.startswith("sharp"):
            cmd = ["node", str(BENCH / "peers/w4_sharp_worker.mjs")]
        else:
            cmd = [sys.executable, str(BENCH / "peers/w4_pyworker.py"), peer]
        self.peer = peer
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True
        )
        self.request_raw()  # the "ready" line

    def request_raw(self, req: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if req is not None:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        reply: dict[str, Any] = json.loads(self.proc.stdout.readline() or '{"error": "exited"}')
        if "error" in reply:
            raise RuntimeError(f"{self.peer}: {reply['error']}")
        return reply

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write('{"cmd": "quit"}\n')
        self.proc.stdin.close()
        self.proc.wait(timeout=20)


def card_ssim(ref: Reference, data: bytes) -> float:
    """SSIM of a 400x400 cover crop against the reference cover at the best window."""
    out = luma_of(data)
    h, w = out.shape
    sw, sh = ref.size
    scale = max(w / sw, h / sh)
    cover = ref.luma((max(w, round(sw * scale)), max(h, round(sh * scale))))
    free_x, free_y = cover.shape[1] - w, cover.shape[0] - h

    def err(x: int, y: int) -> float:
        return float(np.abs(cover[y : y + h : 4, x : x + w : 4] - out[::4, ::4]).mean())

    offsets = [(x, y) for x in range(free_x + 1) for y in range(free_y + 1)]
    x, y = min(offsets, key=lambda p: err(*p))
    window: F64 = cover[y : y + h, x : x + w]
    return ssim(window, out)


def score(ref: Reference, folder: Path) -> dict[str, tuple[int, list[float]]]:
    """Per format: summed bytes and each output's SSIM."""
    got: dict[str, tuple[int, list[float]]] = {}
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        fmt = "card" if path.name.startswith("card") else path.suffix[1:]
        if fmt == "card":
            value = card_ssim(ref, data)
        else:
            out = luma_of(data)
            value = ssim(ref.luma((out.shape[1], out.shape[0])), out)
        total, values = got.get(fmt, (0, []))
        got[fmt] = (total + len(data), [*values, value])
    return got


def request(peer: str, path: Path, save: Path | None = None) -> dict[str, Any]:
    req: dict[str, Any] = {"cmd": "run", "path": str(path)}
    if save is not None:
        req["save"] = str(save)
    if peer == "sharp":
        req["quality"] = QUALITY
    return req


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 reps")
    ap.add_argument("--inputs", default=",".join(INPUTS))
    args = ap.parse_args(argv)
    reps = 3 if args.quick else args.reps
    print(f"W4, {reps} reps, load {os.getloadavg()[0]:.2f} at start")
    print(f"quality per output (thumbsmith's, given to sharp): {json.dumps(QUALITY)}")
    workers = {p: Worker(p) for p in PEERS}
    checks: list[tuple[str, bool]] = []
    rows = []
    try:
        for name in args.inputs.split(","):
            path = IMAGES / name
            if not path.is_file():
                print(f"skip {name}: not found at {path}")
                continue
            ms: dict[str, list[float]] = {p: [] for p in PEERS}
            saved = {p: Path(tempfile.mkdtemp(prefix=f"w4-{p}-")) for p in PEERS}
            for p in PEERS:  # warm-up, keeping the outputs
                workers[p].request_raw(request(p, path, saved[p]))
            for r in range(reps):
                for p in PEERS[r % len(PEERS) :] + PEERS[: r % len(PEERS)]:
                    ms[p].append(workers[p].request_raw(request(p, path))["ms"])
            med = {p: statistics.median(v) for p, v in ms.items()}
            best = {p: min(v) for p, v in ms.items()}
            ref = Reference(path)
            scores = {p: score(ref, saved[p]) for p in PEERS if p != "floor"}
            rows.append((name, med, best, scores))
            checks += input_checks(name, med, scores)
        hwm = {p: workers[p].request_raw({"cmd": "hwm"})["hwm_kb"] / 1024 for p in PEERS}
    finally:
        for w in workers.values():
            w.close()
    print_table(rows, hwm)
    print(f"\nload {os.getloadavg()[0]:.2f} at end")
    for what, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what}")
    return 0 if all(ok for _, ok in checks) else 1


def input_checks(
    name: str, med: dict[str, float], scores: dict[str, dict[str, tuple[int, list[float]]]]
) -> list[tuple[str, bool]]:
    """Time against sharp at matched quality and the floor; per format bytes and SSIM."""
    checks = [
        (f"{name}: time <= 0.6x sharp at matched quality", med["thumbsmith"] <= 0.6 * med["sharp"]),
        (f"{name}: time <= 1.2x floor", med["thumbsmith"] <= 1.2 * med["floor"]),
    ]
    ts, sh = scores["thumbsmith"], scores["sharp"]
    for fmt in FORMATS:
        ratio = ts[fmt][0] / sh[fmt][0]
        d_ssim = float(np.mean(ts[fmt][1]) - np.mean(sh[fmt][1]))
        checks.append((f"{name} {fmt}: bytes <= 1.05x sharp ({ratio:.3f})", ratio <= 1.05))
        checks.append((f"{name} {fmt}: SSIM >= sharp - 0.005 ({d_ssim:+.4f})", d_ssim >= -0.005))
    return checks


def print_table(rows: list[Any], hwm: dict[str, float]) -> None:
    print(
        "\n| input | ts ms | sharp ms (matched) | floor ms | ts÷sharp | ts÷floor | "
        "fastest rep: ts / sharp / floor, ÷sharp, ÷floor | sharp defaults ms, ts÷it |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, med, best, _ in rows:
        ts, sh, fl, sd = med["thumbsmith"], med["sharp"], med["floor"], med["sharp-defaults"]
        t0, s0, f0 = best["thumbsmith"], best["sharp"], best["floor"]
        print(
            f"| {name} | {ts:.0f} | {sh:.0f} | {fl:.0f} | {ts / sh:.2f} | {ts / fl:.2f} | "
            f"{t0:.0f} / {s0:.0f} / {f0:.0f}: {t0 / s0:.2f}, {t0 / f0:.2f} | "
            f"{sd:.0f}, {ts / sd:.2f} |"
        )
    for other, title in (
        ("sharp", "sharp at thumbsmith's quality numbers (the targets)"),
        ("sharp-defaults", "sharp at its own defaults (AVIF q50, WebP q80; no target)"),
    ):
        print(f"\n{title}")
        print("| input | format | bytes ts / sharp | ratio | SSIM ts / sharp (mean) | worst Δ |")
        print("|---|---|---|---|---|---|")
        for name, _, _, scores in rows:
            ts, sh = scores["thumbsmith"], scores[other]
            for fmt in FORMATS:
                worst = min(a - b for a, b in zip(ts[fmt][1], sh[fmt][1], strict=True))
                print(
                    f"| {name} | {fmt} | {ts[fmt][0]} / {sh[fmt][0]} | "
                    f"{ts[fmt][0] / sh[fmt][0]:.3f} | {np.mean(ts[fmt][1]):.4f} / "
                    f"{np.mean(sh[fmt][1]):.4f} | {worst:+.4f} |"
                )
    print(
        "\npeak RSS (VmHWM) of each worker after the run: "
        + ", ".join(f"{p} {v:.0f} MB" for p, v in hwm.items())
    )


if __name__ == "__main__":
    sys.exit(main())
