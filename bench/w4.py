"""W4: each photo -> large/medium/thumb (1280/640/160, fit inside) in AVIF + WebP + JPEG and
a 400x400 attention-cropped card in WebP; thumbsmith, sharp and the floor side by side.

    uv run python bench/w4.py            # 12 MP + 22 MP JPEG, 7 reps
    uv run python bench/w4.py --quick    # 3 reps

Comparison at equal quality, not equal knobs: sharp runs its documented defaults (WebP
quality 80 effort 4, AVIF quality 50 effort 4 4:4:4; JPEG q85 progressive as in W3), one
pipeline per output; thumbsmith its own defaults, one render() for the whole set. One
thread each (Lambda at 1769 MB has one vCPU). Interleaved: every repetition runs every
peer once, in an order that rotates. ms are medians measured inside the workers; bytes
per format are summed over the sizes; SSIM is on luma against a float Lanczos reference
(bench/ssim.py), for the card against the reference cover image at the window each peer
chose (found by search along the free axis, since neither reports it the same way).
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

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
IMAGES = (ROOT / ".." / "shared" / "bench-images").resolve()
INPUTS = ("photo12mp.jpg", "photo22mp.jpg")
PEERS = ("thumbsmith", "sharp", "floor")
FORMATS = ("avif", "webp", "jpg", "card")


class Worker:
    def __init__(self, peer: str) -> None:
        env = dict(os.environ)
        env.update(VIPS_CONCURRENCY="1", OMP_NUM_THREADS="1", UV_THREADPOOL_SIZE="1")
        env.update(SHARP_CONCURRENCY="1", PYTHONDONTWRITEBYTECODE="1")
        if peer == "sharp":
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


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 reps")
    ap.add_argument("--inputs", default=",".join(INPUTS))
    args = ap.parse_args(argv)
    reps = 3 if args.quick else args.reps
    print(f"W4, {reps} reps, load {os.getloadavg()[0]:.2f} at start")
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
                workers[p].request_raw({"cmd": "run", "path": str(path), "save": str(saved[p])})
            for r in range(reps):
                for p in PEERS[r % len(PEERS) :] + PEERS[: r % len(PEERS)]:
                    ms[p].append(workers[p].request_raw({"cmd": "run", "path": str(path)})["ms"])
            med = {p: statistics.median(v) for p, v in ms.items()}
            best = {p: min(v) for p, v in ms.items()}
            ref = Reference(path)
            scores = {p: score(ref, saved[p]) for p in ("thumbsmith", "sharp")}
            rows.append((name, med, best, scores))
            ts, sh = scores["thumbsmith"], scores["sharp"]
            checks.append((f"{name}: time <= 0.6x sharp", med["thumbsmith"] <= 0.6 * med["sharp"]))
            checks.append((f"{name}: time <= 1.2x floor", med["thumbsmith"] <= 1.2 * med["floor"]))
            for fmt in FORMATS:
                ratio = ts[fmt][0] / sh[fmt][0]
                d_ssim = float(np.mean(ts[fmt][1]) - np.mean(sh[fmt][1]))
                checks.append((f"{name} {fmt}: bytes <= 1.05x sharp ({ratio:.3f})", ratio <= 1.05))
                what = f"{name} {fmt}: SSIM >= sharp - 0.005 ({d_ssim:+.4f})"
                checks.append((what, d_ssim >= -0.005))
        hwm = {p: workers[p].request_raw({"cmd": "hwm"})["hwm_kb"] / 1024 for p in PEERS}
    finally:
        for w in workers.values():
            w.close()
    print_table(rows, hwm)
    print(f"\nload {os.getloadavg()[0]:.2f} at end")
    for what, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what}")
    return 0 if all(ok for _, ok in checks) else 1


def print_table(rows: list[Any], hwm: dict[str, float]) -> None:
    print("\n| input | ts ms | sharp ms | floor ms | ts÷sharp | ts÷floor | fastest rep: same |")
    print("|---|---|---|---|---|---|---|")
    for name, med, best, _ in rows:
        ts, sh, fl = med["thumbsmith"], med["sharp"], med["floor"]
        t0, s0, f0 = best["thumbsmith"], best["sharp"], best["floor"]
        print(
            f"| {name} | {ts:.0f} | {sh:.0f} | {fl:.0f} | {ts / sh:.2f} | {ts / fl:.2f} | "
            f"{t0:.0f} / {s0:.0f} / {f0:.0f}: {t0 / s0:.2f}, {t0 / f0:.2f} |"
        )
    print("\n| input | format | bytes ts / sharp | ratio | SSIM ts / sharp (mean) | worst ΔSSIM |")
    print("|---|---|---|---|---|---|")
    for name, _, _, scores in rows:
        ts, sh = scores["thumbsmith"], scores["sharp"]
        for fmt in FORMATS:
            worst = min(a - b for a, b in zip(ts[fmt][1], sh[fmt][1], strict=True))
            print(
                f"| {name} | {fmt} | {ts[fmt][0]} / {sh[fmt][0]} | {ts[fmt][0] / sh[fmt][0]:.3f} | "
                f"{np.mean(ts[fmt][1]):.4f} / {np.mean(sh[fmt][1]):.4f} | {worst:+.4f} |"
            )
    print(
        "\npeak RSS (VmHWM) of each worker after the run: "
        + ", ".join(f"{p} {v:.0f} MB" for p, v in hwm.items())
    )


if __name__ == "__main__":
    sys.exit(main())
