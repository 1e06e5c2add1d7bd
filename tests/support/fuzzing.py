"""Mutation fuzzing of ``render()``, in a child process so a libvips segfault is a finding.

Inputs are real corpus files mutated the way broken uploads are broken: bits flipped,
truncated, header fields set to boundary values, chunks/segments reordered, dropped or
duplicated, regions spliced. Everything is derived from ``random.Random(seed)``, so a
finding is reproduced from (seed, index) alone.

The child reads length-prefixed inputs on stdin and answers one JSON line each. The
parent enforces a wall-clock bound per input: a child that dies is a crash, one that
does not answer in time is a hang; either way the input is kept and the child restarted.
"""

from __future__ import annotations

import json
import os
import random
import select
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, when run as a script
from support.helpers import CORPUS, MANIFEST

REPO = Path(__file__).resolve().parents[2]

#: Per-input wall-clock bound. A typed DecoderTimeout inside the bound is fine.
TIME_BOUND_S = 20.0
#: What the child gives render(): tight enough that a pathological input times out
#: inside the bound as a typed error instead of as a hang.
DECODE_TIMEOUT_S = 10.0
EPS_TIMEOUT_S = 5.0

# Big corpus files dominate the run time without adding much coverage per byte.
MAX_SEED_BYTES = 400_000

CHILD = r"""
import json, struct, sys, resource
from thumbsmith.errors import ThumbsmithError
from thumbsmith.core import configure
from thumbsmith.core import RenderOptions
from thumbsmith.core import render
from thumbsmith.core.spec import parse_renditions

configure(concurrency=1)
specs = parse_renditions("large=1280,medium=640,thumb=160")
options = RenderOptions(decode_timeout=float(sys.argv[1]), eps_timeout=float(sys.argv[2]))
inp, out = sys.stdin.buffer, sys.stdout
out.write("ready\n"); out.flush()
while True:
    head = inp.read(4)
    if len(head) < 4:
        break
    (n,) = struct.unpack(">I", head)
    data = inp.read(n)
    try:
        rs = render(data, specs, options, name="fuzz")
        result = {"status": "ok", "sizes": [[r.width, r.height] for r in rs]}
    except ThumbsmithError as exc:
        result = {"status": "typed", "type": type(exc).__name__, "msg": str(exc)[:300]}
    except BaseException as exc:
        result = {"status": "untyped", "type": type(exc).__name__, "msg": str(exc)[:300]}
    hwm = 0
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) // 1024
    result["rss_mb"] = hwm
    out.write(json.dumps(result) + "\n"); out.flush()
"""


# --- mutators ------------------------------------------------------------------------
INTERESTING_8 = [0x00, 0x01, 0x7F, 0x80, 0xFF]
INTERESTING_16 = [0x0000, 0x0001, 0x7FFF, 0x8000, 0xFFFF, 0xFAFA, 0x4000]
INTERESTING_32 = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x10000, 65536 * 65535]


def _offset(data: bytes | bytearray, rng: random.Random) -> int:
    # Headers are where parsers make decisions: aim there half of the time.
    limit = min(len(data), 512) if rng.random() < 0.5 else len(data)
    return rng.randrange(max(1, limit))


def bit_flip(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 4, 8, 32])):
        i = _offset(buf, rng)
        buf[i] ^= 1 << rng.randrange(8)
    return bytes(buf)


def truncate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    return data[: rng.randrange(len(data))] if rng.random() < 0.7 else data[: _offset(data, rng)]


def header_field(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    width = rng.choice([1, 2, 4])
    i = min(_offset(buf, rng), max(0, len(buf) - width))
    order = rng.choice("<>")
    if width == 1:
        value = rng.choice(INTERESTING_8)
        buf[i : i + 1] = bytes([value])
    elif width == 2:
        value = rng.choice([*INTERESTING_16, rng.randrange(1 << 16)])
        buf[i : i + 2] = struct.pack(order + "H", value)
    else:
        value = rng.choice([*INTERESTING_32, rng.randrange(1 << 32)])
        buf[i : i + 4] = struct.pack(order + "I", value)
    return bytes(buf)


def _png_chunks(data: bytes) -> list[bytes] | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    chunks, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        end = pos + 12 + length
        if end > len(data):
            break
        chunks.append(data[pos:end])
        pos = end
    return chunks or None


def _jpeg_segments(data: bytes) -> list[bytes] | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    segments, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # scan data: leave it at the end, whole
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        segments.append(data[pos : pos + 2 + length])
        pos += 2 + length
    return segments or None


def chunk_shuffle(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """Reorder, drop or duplicate PNG chunks / JPEG segments (or blocks, for others)."""
    chunks = _png_chunks(data)
    if chunks is not None:
        head, rest = b"\x89PNG\r\n\x1a\n", data[8 + sum(map(len, chunks)) :]
        # Sometimes keep the CRCs right, so the decoder looks past them.
        if rng.random() < 0.3:
            i = rng.randrange(len(chunks))
            c = bytearray(chunks[i])
            if len(c) > 12:
                c[8 + rng.randrange(len(c) - 12)] ^= 0xFF
                c[-4:] = struct.pack(">I", zlib.crc32(bytes(c[4:-4])))
                chunks[i] = bytes(c)
    else:
        segments = _jpeg_segments(data)
        if segments is not None:
            head, chunks = b"\xff\xd8", segments
            rest = data[2 + sum(map(len, segments)) :]
        else:
            size = max(1, len(data) // 16)
            head, rest = b"", b""
            chunks = [data[i : i + size] for i in range(0, len(data), size)]
    op = rng.choice(["swap", "drop", "dup", "shuffle"])
    if op == "swap" and len(chunks) > 1:
        i, j = rng.sample(range(len(chunks)), 2)
        chunks[i], chunks[j] = chunks[j], chunks[i]
    elif op == "drop" and chunks:
        del chunks[rng.randrange(len(chunks))]
    elif op == "dup" and chunks:
        i = rng.randrange(len(chunks))
        chunks.insert(rng.randrange(len(chunks) + 1), chunks[i])
    else:
        rng.shuffle(chunks)
    return head + b"".join(chunks) + rest


def splice(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    other = rng.choice(pool) if pool else data
    a = rng.randrange(len(data))
    b = rng.randrange(max(1, len(other)))
    n = rng.randrange(1, 4096)
    return data[:a] + other[b : b + n] + data[a + rng.choice([0, n]) :]


def delete_region(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    a = _offset(data, rng)
    return data[:a] + data[a + rng.randrange(1, 256) :]


MUTATORS: list[Callable[[bytes, random.Random, list[bytes]], bytes]] = [
    bit_flip,
    bit_flip,
    truncate,
    header_field,
    header_field,
    chunk_shuffle,
    splice,
    delete_region,
]


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if not data:
            break
        data = rng.choice(MUTATORS)(data, rng, pool)
    return data


def seed_files(max_bytes: int = MAX_SEED_BYTES) -> list[Path]:
    """Corpus files to mutate (every format, rejects included); empty when it is absent."""
    files = [CORPUS / e["file"] for e in MANIFEST]
    return sorted(p for p in files if p.is_file() and 0 < p.stat().st_size <= max_bytes)


def inputs(seed: int, files: list[Path]) -> Iterator[tuple[str, bytes]]:
    """Endless deterministic stream of (label, mutated bytes)."""
    pool = [p.read_bytes() for p in files]
    rng = random.Random(seed)
    i = 0
    while True:
        k = rng.randrange(len(pool))
        yield f"{seed}:{i}:{files[k].name}", mutate(pool[k], rng, pool)
        i += 1


# --- the child ----------------------------------------------------------------------
@dataclass
class Result:
    status: str  # ok | typed | untyped | crash | hang
    type: str = ""
    msg: str = ""
    seconds: float = 0.0
    rss_mb: int = 0


class Harness:
    """One render child; restarted after a crash or a hang."""

    def __init__(self, time_bound: float = TIME_BOUND_S) -> None:
        self.time_bound = time_bound
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0

    def _start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "VIPS_WARNING": "0", "G_MESSAGES_DEBUG": ""}
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(DECODE_TIMEOUT_S), str(EPS_TIMEOUT_S)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("fuzz child did not start")
        self.started += 1
        return proc

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, data: bytes) -> Result:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        start = time.monotonic()
        try:
            proc.stdin.write(struct.pack(">I", len(data)) + data)
            proc.stdin.flush()
        except BrokenPipeError:
            pass
        ready, _, _ = select.select([proc.stdout], [], [], self.time_bound)
        line = proc.stdout.readline() if ready else b""
        seconds = time.monotonic() - start
        if not ready:
            self.close()
            return Result("hang", seconds=seconds)
        if not line:
            code = proc.wait()
            self.proc = None
            return Result("crash", type=f"exit {code}", seconds=seconds)
        out = json.loads(line)
        return Result(
            out["status"],
            out.get("type", ""),
            out.get("msg", ""),
            seconds=seconds,
            rss_mb=out.get("rss_mb", 0),
        )


def is_finding(result: Result) -> bool:
    """Crashes, hangs, and anything but a typed error, including ones only the catch-all
    in render() turned into CorruptImage ("unexpected ..."): those are bugs too."""
    if result.status in ("crash", "hang", "untyped"):
        return True
    return result.status == "typed" and "unexpected " in result.msg


@dataclass
class Report:
    count: int = 0
    seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    findings: list[tuple[str, Result]] = field(default_factory=list)
    slowest: float = 0.0
    peak_rss_mb: int = 0


def fuzz(seed: int, count: int, jobs: int = 1, findings_dir: Path | None = None) -> Report:
    """Run ``count`` mutated inputs through ``jobs`` children; keep every finding."""
    import threading

    files = seed_files()
    if not files:
        raise SystemExit(f"corpus not found at {CORPUS}")
    stream = inputs(seed, files)
    lock = threading.Lock()
    report = Report()
    start = time.monotonic()

    def next_input() -> tuple[str, bytes] | None:
        with lock:
            if report.count >= count:
                return None
            report.count += 1
            return next(stream)

    def loop() -> None:
        with Harness() as harness:
            while (item := next_input()) is not None:
                label, data = item
                result = harness.run(data)
                with lock:
                    report.statuses[result.status] += 1
                    if result.type:
                        report.errors[result.type] += 1
                    report.slowest = max(report.slowest, result.seconds)
                    report.peak_rss_mb = max(report.peak_rss_mb, result.rss_mb)
                    if is_finding(result):
                        report.findings.append((label, result))
                        if findings_dir is not None:
                            findings_dir.mkdir(parents=True, exist_ok=True)
                            safe = label.replace(":", "_").replace("/", "_")
                            (findings_dir / f"{safe}.bin").write_bytes(data)
                        print(f"FINDING {label}: {result}", file=sys.stderr, flush=True)
                    if report.count % 500 == 0:
                        print(
                            f"{report.count} inputs, {time.monotonic() - start:.0f} s",
                            file=sys.stderr,
                            flush=True,
                        )

    threads = [threading.Thread(target=loop) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report.seconds = time.monotonic() - start
    return report


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="mutation-fuzz thumbsmith's render()")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--findings", type=Path, default=Path("fuzz-findings"))
    args = parser.parse_args(argv)
    report = fuzz(args.seed, args.count, args.jobs, args.findings)
    summary = {
        "inputs": report.count,
        "seconds": round(report.seconds, 1),
        "inputs_per_s": round(report.count / max(report.seconds, 1e-9), 1),
        "statuses": dict(report.statuses),
        "errors": dict(report.errors),
        "findings": len(report.findings),
        "slowest_input_s": round(report.slowest, 2),
        "peak_child_rss_mb": report.peak_rss_mb,
        "seed": args.seed,
        "seed_files": len(seed_files()),
    }
    print(json.dumps(summary, indent=1))
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
