"""W3 benchmark: thumbsmith against its peers, interleaved in one run, on the same inputs.

Run it with ``bench/run`` (installs the peers first), or ``uv run python bench/w3.py``.
``--quick`` is a smoke run (< 1 min); ``--help`` lists the knobs.

What is measured, per input:

* **ms (1w)**: median over ``--reps`` of one image's W3 (three renditions), timed inside a
  warm persistent worker process (Python ``perf_counter`` / node ``hrtime``), one peer
  after another in round-robin order on every repetition so drift hits all peers alike.
  **ms (rt)** is the same request timed from this process around the pipe round trip.
  Workers run ``--threads`` threads (default 1: Lambda at 1769 MB has one vCPU, and
  thumbsmith's default ``vips_concurrency`` is 1).
* **img/s (2w)**: two fresh worker processes of the peer, one thread each, each doing the
  same image ``--tput-n`` times at once; images/s overall, median of ``--tput-rounds``.
* **RSS MB**: peak RSS (VmHWM) of those throughput workers (the larger of the two); for gm,
  the largest peak RSS of a ``gm`` child (the driver is not the peer).
* **SSIM640**: of the 640 px output against a float Lanczos reference from a full decode.
* **bytes**: the three outputs' sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(BENCH))

from ssim import Reference, reference_q85_ssim, ssim_jpeg  # noqa: E402

SUBJECT = "thumbsmith"
PEERS: tuple[str, ...] = ("thumbsmith", "sharp", "pyvips", "pillow", "gm", "floor")
LABELS = {
    "thumbsmith": "thumbsmith",
    "sharp": "sharp clone()",
    "pyvips": "pyvips thumb/size",
    "pillow": "Pillow (AWS tut.)",
    "gm": "gm CLI (original)",
    "floor": "floor",
}
SIZES = ((1280, "large"), (640, "medium"), (160, "thumb"))


@dataclass(frozen=True)
class Input:
    key: str
    path: Path
    kind: str  # "jpeg" | "png" | "gif"
    note: str


INPUTS: tuple[Input, ...] = (
    Input("jpeg12", SHARED / "bench-images/photo12mp.jpg", "jpeg", "12 MP JPEG"),
    Input("jpeg22", SHARED / "bench-images/photo22mp.jpg", "jpeg", "22 MP JPEG"),
    Input("png", SHARED / "bench-images/rgba.png", "png", "RGBA PNG"),
    Input("gif", SHARED / "bench-images/photo.gif", "gif", "GIF"),
    Input(
        "jpeg16",
        SHARED / "corpus/mei__Kodak_PIXPRO_FZ201_16MP.jpg",
        "jpeg",
        "16 MP JPEG (corpus)",
    ),
)

# AWS Lambda prices (us-east-1), as published by AWS; see COST_NOTE.
PRICE_GBS = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_REQUEST = 0.20 / 1e6
PRICE_CHECKED = "2026-11-27 (from AWS's published price list; not re-checked online here)"
FULL_VCPU_MB = 1769


# --- workers -------------------------------------------------------------------------------


class WorkerError(RuntimeError):
    pass


class Worker:
    """One persistent peer process speaking the JSON-lines protocol of bench/peers/."""

    def __init__(self, peer: str, threads: int) -> None:
        self.peer = peer
        env = dict(os.environ)
        t = str(threads)
        env.update(
            VIPS_CONCURRENCY=t,
            OMP_NUM_THREADS=t,
            UV_THREADPOOL_SIZE=t,
            SHARP_CONCURRENCY=t,
            PYTHONDONTWRITEBYTECODE="1",
        )
        if peer == "sharp":
            cmd = ["node", str(BENCH / "peers/sharp_worker.mjs")]
        else:
            cmd = [sys.executable, str(BENCH / "peers/pyworker.py"), peer]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
            text=True,
            bufsize=1,
        )
        self.hello: dict[str, Any] = {}

    @property
    def _in(self) -> IO[str]:
        assert self.proc.stdin is not None
        return self.proc.stdin

    @property
    def _out(self) -> IO[str]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    def wait_ready(self) -> None:
        self.hello = self._read()

    def send(self, req: dict[str, Any]) -> None:
        self._in.write(json.dumps(req) + "\n")
        self._in.flush()

    def _read(self) -> dict[str, Any]:
        line = self._out.readline()
        if not line:
            raise WorkerError(f"{self.peer} worker exited (rc={self.proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def read(self) -> dict[str, Any]:
        reply = self._read()
        if "error" in reply:
            raise WorkerError(f"{self.peer}: {reply['error']}")
        return reply

    def request(self, req: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """Reply, and the ms around the round trip as seen from here."""
        t0 = time.perf_counter()
        self.send(req)
        reply = self.read()
        return reply, (time.perf_counter() - t0) * 1e3

    def close(self) -> None:
        try:
            self.send({"cmd": "quit"})
            self._in.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self.proc.kill()
            self.proc.wait()


def start_workers(peers: Iterable[str], threads: int) -> dict[str, Worker]:
    workers = {p: Worker(p, threads) for p in peers}
    for w in workers.values():
        w.wait_ready()
    return workers


# --- results -------------------------------------------------------------------------------


@dataclass
class PeerResult:
    inner_ms: list[float] = field(default_factory=list)
    outer_ms: list[float] = field(default_factory=list)
    tput: list[float] = field(default_factory=list)
    rss_kb: int = 0
    base_rss_kb: int = 0
    ssim640: float | None = None
    out: list[list[Any]] = field(default_factory=list)  # [name, w, h, bytes]
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.inner_ms)

    @property
    def ms(self) -> float:
        return statistics.median(self.inner_ms) if self.inner_ms else math.nan

    @property
    def rt_ms(self) -> float:
        return statistics.median(self.outer_ms) if self.outer_ms else math.nan

    @property
    def img_s(self) -> float:
        return statistics.median(self.tput) if self.tput else math.nan


Results = dict[str, dict[str, PeerResult]]  # input key -> peer -> result


def rotated(seq: Sequence[str], k: int) -> list[str]:
    k %= len(seq)
    return list(seq[k:]) + list(seq[:k])


def hwm_kb(w: Worker) -> int:
    reply, _ = w.request({"cmd": "hwm"})
    return int(reply["hwm_kb"])


# --- phases --------------------------------------------------------------------------------


def phase_latency(
    inputs: Sequence[Input],
    peers: Sequence[str],
    reps: int,
    threads: int,
    outdir: Path,
    log: IO[str],
) -> tuple[Results, dict[str, dict[str, Any]]]:
    res: Results = {i.key: {p: PeerResult() for p in peers} for i in inputs}
    workers = start_workers(peers, threads)
    hello = {p: w.hello for p, w in workers.items()}
    try:
        for inp in inputs:
            log.write(f"  1 worker: {inp.path.name} ")
            # warm-up, and the outputs used for SSIM and bytes
            for p in peers:
                save = outdir / inp.key / p
                save.mkdir(parents=True, exist_ok=True)
                try:
                    reply, _ = workers[p].request(
                        {"cmd": "run", "path": str(inp.path), "save": str(save)}
                    )
                    res[inp.key][p].out = reply["out"]
                except WorkerError as exc:
                    res[inp.key][p].error = str(exc)
            live = [p for p in peers if not res[inp.key][p].error]
            for r in range(reps):
                for p in rotated(live, r):
                    reply, outer = workers[p].request({"cmd": "run", "path": str(inp.path)})
                    res[inp.key][p].inner_ms.append(float(reply["ms"]))
                    res[inp.key][p].outer_ms.append(outer)
                log.write(".")
                log.flush()
            log.write("\n")
    finally:
        for w in workers.values():
            w.close()
    return res, hello


def phase_throughput(
    inputs: Sequence[Input],
    peers: Sequence[str],
    res: Results,
    n: int,
    rounds: int,
    log: IO[str],
) -> None:
    for inp in inputs:
        live = [p for p in peers if not res[inp.key][p].error]
        log.write(f"  2 workers: {inp.path.name} ")
        log.flush()
        pairs = {p: (Worker(p, 1), Worker(p, 1)) for p in live}
        try:
            for a, b in pairs.values():
                a.wait_ready()
                b.wait_ready()
            for p, (a, b) in pairs.items():
                res[inp.key][p].base_rss_kb = hwm_kb(a) if p != "gm" else 0
                for w in (a, b):  # warm both
                    w.request({"cmd": "run", "path": str(inp.path)})
            for r in range(rounds):
                for p in rotated(live, r):
                    a, b = pairs[p]
                    job = {"cmd": "loop", "path": str(inp.path), "n": n}
                    t0 = time.perf_counter()
                    a.send(job)
                    b.send(job)
                    a.read()
                    b.read()
                    wall = time.perf_counter() - t0
                    res[inp.key][p].tput.append(2 * n / wall)
                log.write(".")
                log.flush()
            for p, (a, b) in pairs.items():
                res[inp.key][p].rss_kb = max(hwm_kb(a), hwm_kb(b))
        finally:
            for a, b in pairs.values():
                a.close()
                b.close()
        log.write("\n")


def phase_quality(
    inputs: Sequence[Input], peers: Sequence[str], res: Results, outdir: Path
) -> dict[str, float]:
    ceiling: dict[str, float] = {}
    for inp in inputs:
        ref = Reference(inp.path)
        size = None
        for p in peers:
            r = res[inp.key][p]
            if r.error:
                continue
            jpeg = (outdir / inp.key / p / "medium.jpg").read_bytes()
            r.ssim640 = ssim_jpeg(ref, jpeg)
            size = size or next((o[1], o[2]) for o in r.out if o[0] == "medium")
        if size:
            ceiling[inp.key] = reference_q85_ssim(ref, size)
    return ceiling


# --- report --------------------------------------------------------------------------------


def fmt(x: float | None, spec: str, width: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—".rjust(width)
    return format(x, spec).rjust(width)


def describe(inp: Input) -> str:
    from PIL import Image

    with Image.open(inp.path) as im:
        w, h, mode = im.width, im.height, im.mode
    mb = inp.path.stat().st_size / 1e6
    return f"{inp.path.name}: {inp.note}, {w}x{h} {mode}, {mb:.2f} MB"


def check_outputs(
    res: Results, inputs: Sequence[Input], peers: Sequence[str], outdir: Path
) -> list[str]:
    """Every output must fit its box (±1 px of the exact fit) and carry no EXIF or ICC."""
    from PIL import Image

    warnings = []
    for inp in inputs:
        with Image.open(inp.path) as im:
            w0, h0 = im.size
            orientation = im.getexif().get(0x0112, 1)
        if orientation in (5, 6, 7, 8):
            w0, h0 = h0, w0
        for p in peers:
            r = res[inp.key][p]
            for (box, name), (oname, w, h, _) in zip(SIZES, r.out, strict=False):
                scale = min(box / w0, box / h0, 1.0)
                ew, eh = round(w0 * scale), round(h0 * scale)
                if oname != name or abs(w - ew) > 1 or abs(h - eh) > 1 or max(w, h) > box:
                    warnings.append(
                        f"{inp.path.name} {p} {name}: {w}x{h}, expected {ew}x{eh} in {box}px"
                    )
                data = (outdir / inp.key / p / f"{name}.jpg").read_bytes()
                for marker, what in ((b"Exif\x00\x00", "EXIF"), (b"ICC_PROFILE\x00", "ICC")):
                    if marker in data[:65536]:
                        warnings.append(f"{inp.path.name} {p} {name}: output carries {what}")
    return warnings


def print_input_table(
    inp: Input, peers: Sequence[str], res: dict[str, PeerResult], ceiling: float | None
) -> None:
    ts = res.get(SUBJECT)
    print(f"\n== {describe(inp)} ==")
    head = (
        f"{'peer':<18}{'ms 1w':>8}{'ms rt':>8}{'img/s 2w':>10}{'RSS MB':>8}{'SSIM640':>9}"
        f"  {'bytes 1280/640/160':<22}{'ts÷peer ms':>11}{'ts÷peer 2w':>11}"
    )
    print(head)
    print("-" * len(head))
    for p in peers:
        r = res[p]
        if r.error:
            print(f"{LABELS[p]:<18}  error: {r.error}")
            continue
        sizes = "/".join(str(o[3]) for o in r.out)
        if ts is not None and ts.ok and p != SUBJECT:
            ratio_ms = fmt(ts.ms / r.ms, ".2f", 11)
            ratio_tp = fmt(ts.img_s / r.img_s, ".2f", 11) if r.tput else fmt(None, "", 11)
        else:
            ratio_ms = ratio_tp = "".rjust(11)
        # the floor's worker holds ready-made renditions: its RSS means nothing
        rss = r.rss_kb / 1024 if r.rss_kb and p != "floor" else None
        print(
            f"{LABELS[p]:<18}{fmt(r.ms, '.1f', 8)}{fmt(r.rt_ms, '.1f', 8)}"
            f"{fmt(r.img_s, '.2f', 10)}{fmt(rss, '.0f', 8)}{fmt(r.ssim640, '.4f', 9)}"
            f"  {sizes:<22}{ratio_ms}{ratio_tp}"
        )
    if ts is not None and ts.ok and ts.base_rss_kb:
        print(
            f"  thumbsmith worker RSS right after start-up (imports only): "
            f"{ts.base_rss_kb / 1024:.0f} MB"
        )
    if ceiling is not None:
        print(f"  SSIM ceiling (the float reference itself, 8-bit, Pillow q85): {ceiling:.4f}")


@dataclass
class Check:
    what: str
    ok: bool | None  # None: could not be measured
    detail: str


def targets(inputs: Sequence[Input], res: Results) -> list[Check]:
    out: list[Check] = []

    def get(key: str, peer: str) -> PeerResult | None:
        r = res.get(key, {}).get(peer)
        return r if r is not None and r.ok else None

    def ratio_check(what: str, key: str, peer: str, limit: float, attr: str = "ms") -> None:
        ts, other = get(key, SUBJECT), get(key, peer)
        if ts is None or other is None:
            out.append(Check(what, None, "not measured"))
            return
        if attr == "ms":
            ratio = ts.ms / other.ms
            ok = ratio <= limit
            detail = f"{ts.ms:.1f} ms vs {other.ms:.1f} ms = {ratio:.2f}x (limit ≤ {limit:.2f}x)"
        else:
            ratio = ts.img_s / other.img_s
            ok = ratio >= limit
            detail = (
                f"{ts.img_s:.2f} vs {other.img_s:.2f} img/s = {ratio:.2f}x (limit ≥ {limit:.2f}x)"
            )
        out.append(Check(what, ok, detail))

    keys = {i.key: i for i in inputs}
    for inp in inputs:
        if inp.kind == "jpeg":
            ratio_check(f"{inp.note}: time ≤ 0.75x sharp", inp.key, "sharp", 0.75)
            ratio_check(f"{inp.note}: time ≤ 1.4x floor", inp.key, "floor", 1.4)
            ratio_check(f"{inp.note}: 2-worker img/s ≥ 1.5x sharp", inp.key, "sharp", 1.5, "tput")
    if "png" in keys:
        ratio_check("RGBA PNG: time ≤ 1.0x sharp", "png", "sharp", 1.0)
    if "gif" in keys:
        ratio_check("GIF: time ≤ 1.0x AWS-tutorial Pillow", "gif", "pillow", 1.0)
    for inp in inputs:
        ts, sh = get(inp.key, SUBJECT), get(inp.key, "sharp")
        what = f"{inp.note}: SSIM640 ≥ sharp − 0.002"
        if ts is None or sh is None or ts.ssim640 is None or sh.ssim640 is None:
            out.append(Check(what, None, "not measured"))
        else:
            ok = ts.ssim640 >= sh.ssim640 - 0.002
            out.append(Check(what, ok, f"{ts.ssim640:.4f} vs sharp {sh.ssim640:.4f}"))
    if "jpeg22" in keys:
        ts = get("jpeg22", SUBJECT)
        what = "22 MP JPEG: peak RSS of a worker ≤ 64 MB"
        if ts is None or not ts.rss_kb:
            out.append(Check(what, None, "not measured"))
        else:
            mb = ts.rss_kb / 1024
            base = ts.base_rss_kb / 1024
            out.append(Check(what, mb <= 64, f"{mb:.1f} MB (of which {base:.1f} MB at start-up)"))
    return out


def lambda_cost(ms: float, mem_mb: int, arch: str) -> float:
    """$ per million images: one image per invocation, billed per 1 ms."""
    gb_s = math.ceil(ms) / 1e3 * mem_mb / 1024
    return (gb_s * PRICE_GBS[arch] + PRICE_REQUEST) * 1e6


def modelled_ms(ms_1vcpu: float, mem_mb: int) -> float:
    """Below 1769 MB Lambda gives a proportional share of one vCPU; above it, a 1-thread
    pipeline gets no faster."""
    return ms_1vcpu * max(1.0, FULL_VCPU_MB / mem_mb)


def recommend_memory(ts_ms: Sequence[float], ts_rss_mb: float, max_latency_ms: float) -> int:
    """The smallest standard size with room (4x the worker's peak RSS) whose modelled
    worst-case latency stays within the budget; compute cost is flat below 1769 MB under
    the model, so smaller only saves on time spent waiting for S3."""
    for mem in (512, 640, 768, 1024, 1280, 1536, FULL_VCPU_MB):
        if mem >= 4 * ts_rss_mb and modelled_ms(max(ts_ms), mem) <= max_latency_ms:
            return mem
    return FULL_VCPU_MB


def print_costs(
    inputs: Sequence[Input], peers: Sequence[str], res: Results, max_latency_ms: float
) -> None:
    ts_ok = [
        res[i.key][SUBJECT] for i in inputs if SUBJECT in res[i.key] and res[i.key][SUBJECT].ok
    ]
    rec = FULL_VCPU_MB
    if ts_ok:
        rss = max(r.rss_kb for r in ts_ok) / 1024
        rec = recommend_memory([r.ms for r in ts_ok], rss, max_latency_ms)
    print("\n== Lambda cost, $ per million images (one image per invocation) ==")
    print(
        f"price: x86_64 ${PRICE_GBS['x86_64']}/GB-s, arm64 ${PRICE_GBS['arm64']}/GB-s, "
        f"${PRICE_REQUEST * 1e6:.2f} per 1M requests, as published by AWS, checked "
        f"{PRICE_CHECKED}."
    )
    print(
        f"time: the 1-worker median measured here ({platform.machine()}, {cpu_model()}), "
        "used for arm64 as well (not measured on Graviton); excludes S3 I/O and cold starts."
    )
    print(
        f"model: 1769 MB = 1 vCPU; at M < 1769 MB time x 1769/M (proportional CPU share), so "
        f"compute $ is flat below 1769 MB and only latency grows. Recommended: {rec} MB = "
        f"smallest size ≥ 4x thumbsmith's peak RSS with modelled worst latency ≤ "
        f"{max_latency_ms:.0f} ms; it pays less for any time spent waiting on S3."
    )
    cols = [(FULL_VCPU_MB, "x86_64"), (FULL_VCPU_MB, "arm64"), (rec, "x86_64"), (rec, "arm64")]
    head = (
        f"{'peer':<18}{'input':<8}{'ms@1vCPU':>9}"
        + "".join(f"{f'{a} {m}MB':>15}" for m, a in cols)
        + f"{'ms@' + str(rec) + 'MB':>12}"
    )
    print(head)
    print("-" * len(head))
    for p in peers:
        rows = [(i.key, res[i.key][p]) for i in inputs if res[i.key][p].ok]
        if not rows:
            continue
        mix = statistics.fmean(r.ms for _, r in rows)
        rows_out: list[tuple[str, float]] = [(k, r.ms) for k, r in rows] + [("mean", mix)]
        for key, ms in rows_out:
            if p != SUBJECT and key != "mean":
                continue  # peers: the equal-weight mix over the inputs only
            cells = "".join(f"{lambda_cost(modelled_ms(ms, m), m, a):>15.2f}" for m, a in cols)
            print(f"{LABELS[p]:<18}{key:<8}{ms:>9.1f}{cells}{modelled_ms(ms, rec):>12.0f}")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def versions(hello: dict[str, dict[str, Any]]) -> str:
    import PIL
    import pyvips

    gm = "gm (not installed)"
    if shutil.which("gm"):  # --peers without gm runs without it installed
        gm = subprocess.run(["gm", "version"], capture_output=True, text=True).stdout.split("\n")[0]
    sharp = hello.get("sharp", {}).get("versions", {})
    return (
        f"pyvips {pyvips.__version__} / libvips {pyvips.version(0)}.{pyvips.version(1)}."
        f"{pyvips.version(2)}; sharp {sharp.get('sharp', '?')} / libvips {sharp.get('vips', '?')}"
        f" (mozjpeg); Pillow {PIL.__version__}; {' '.join(gm.split()[:2])}; node "
        f"{subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 reps, 1 round of 1 image per worker, < 1 min",
    )
    ap.add_argument("--reps", type=int, default=11, help="1-worker repetitions (median)")
    ap.add_argument("--tput-n", type=int, default=4, help="images per worker per 2-worker round")
    ap.add_argument("--tput-rounds", type=int, default=5, help="2-worker rounds (median)")
    ap.add_argument("--threads", type=int, default=1, help="threads per 1-worker process")
    ap.add_argument(
        "--inputs",
        default=",".join(i.key for i in INPUTS),
        help="comma list of: " + ", ".join(i.key for i in INPUTS),
    )
    ap.add_argument("--peers", default=",".join(PEERS), help="comma list of: " + ", ".join(PEERS))
    ap.add_argument(
        "--max-latency-ms",
        type=float,
        default=1000.0,
        help="latency budget for the recommended Lambda memory",
    )
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    args = ap.parse_args(argv)
    if args.quick:
        args.reps, args.tput_n, args.tput_rounds = 2, 1, 1

    inputs = [i for k in args.inputs.split(",") for i in INPUTS if i.key == k.strip()]
    peers = [p for p in PEERS if p in {x.strip() for x in args.peers.split(",")}]
    missing = [i for i in inputs if not i.path.exists()]
    if missing:
        print("missing inputs: " + ", ".join(str(i.path) for i in missing), file=sys.stderr)
        return 2

    started = time.time()
    load0 = os.getloadavg()
    log = sys.stderr
    with tempfile.TemporaryDirectory(prefix="bench-w3-") as tmp:
        outdir = args.keep or Path(tmp)
        t = time.perf_counter()
        log.write("phase 1/3: latency, one warm worker per peer, interleaved\n")
        res, hello = phase_latency(inputs, peers, args.reps, args.threads, outdir, log)
        log.write(f"  ({time.perf_counter() - t:.0f} s)\n")
        t = time.perf_counter()
        log.write("phase 2/3: throughput and peak RSS, two fresh 1-thread workers per peer\n")
        phase_throughput(inputs, peers, res, args.tput_n, args.tput_rounds, log)
        log.write(f"  ({time.perf_counter() - t:.0f} s)\n")
        t = time.perf_counter()
        log.write("phase 3/3: SSIM against the float Lanczos reference\n")
        ceiling = phase_quality(inputs, peers, res, outdir)
        fit_warnings = check_outputs(res, inputs, peers, outdir)
        log.write(f"  ({time.perf_counter() - t:.0f} s)\n")
    load1 = os.getloadavg()

    print(
        f"W3 benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"{os.cpu_count()} CPUs ({platform.machine()}, {cpu_model()}); load average at start "
        f"{load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f}, at end {load1[0]:.2f}/{load1[1]:.2f}/"
        f"{load1[2]:.2f}; {time.time() - started:.0f} s"
    )
    print(versions(hello))
    print(
        f"reps {args.reps} (1 worker, {args.threads} thread(s) each), 2-worker: "
        f"{args.tput_rounds} round(s) of {args.tput_n} images per worker, 1 thread each (RSS: "
        f"peak after {1 + args.tput_rounds * args.tput_n} images). "
        "All peers: q85 progressive optimised-Huffman JPEG, 4:2:0, auto-orient, sRGB, "
        "metadata stripped, alpha on white, fit inside the box."
    )
    print(
        "ms 1w: median, timed inside the warm worker; ms rt: same, timed around the request "
        "from the driver. ts÷peer ms < 1: thumbsmith faster; ts÷peer 2w > 1: thumbsmith "
        "more img/s. floor = JPEG decode at the smallest DCT scale covering 1280 px (full "
        "decode for PNG/GIF) + the three encodes."
    )
    for inp in inputs:
        print_input_table(inp, peers, res[inp.key], ceiling.get(inp.key))
    for w in fit_warnings:
        print(f"  output warning: {w}")
    if not fit_warnings:
        print("\nAll outputs fit their boxes (±1 px of the exact fit) and carry no EXIF or ICC.")

    checks = targets(inputs, res)
    print("\n== Targets ==")
    for c in checks:
        flag = "PASS" if c.ok else ("FAIL" if c.ok is False else "N/A ")
        print(f"{flag}  {c.what}: {c.detail}")
    print_costs(inputs, peers, res, args.max_latency_ms)

    if args.json:
        raw = {
            i.key: {
                p: {
                    "inner_ms": r.inner_ms,
                    "outer_ms": r.outer_ms,
                    "tput": r.tput,
                    "rss_kb": r.rss_kb,
                    "base_rss_kb": r.base_rss_kb,
                    "ssim640": r.ssim640,
                    "out": r.out,
                    "error": r.error,
                }
                for p, r in res[i.key].items()
            }
            for i in inputs
        }
        args.json.write_text(json.dumps({"load": [load0, load1], "results": raw}, indent=1))
    n_fail = sum(1 for c in checks if c.ok is False)
    print(f"\n{len(checks) - n_fail} of {len(checks)} targets met.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
