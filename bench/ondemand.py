"""On-demand benchmark: ``thumbsmith origin`` against ipx and thumbor, side by side in one
run, on the same photos, with the two floors beside them.

Run it with ``bench/run ondemand [--quick]`` (installs the peers first), or
``uv run python bench/ondemand.py``. What is measured, per input and format (``w=640``,
fit inside, WebP and AVIF), each server given one render thread:

* **first ms**: median latency of a request nothing has asked for before (each request a
  distinct width, 641, 642, ...): a render for every peer (thumbsmith: a signed ad-hoc
  URL, a MISS that also writes the result to the output folder).
* **repeat ms**: median latency of the same URL again (``w=640``, asked once before):
  thumbsmith and thumbor serve their stored result (thumbsmith's HIT); ipx keeps no
  result cache on the server, so it renders again.
* **miss/s c1, c4**: renders per second, distinct widths, 1 and 4 clients at once.
* **hit/s c1, c4**: the repeat URL, 1 and 4 clients at once.
* **RSS MB**: peak of the server's process tree (the server and its children, summed,
  sampled every 20 ms from /proc) over the whole run.
* **floors**: ``core.render`` of that one rendition in this process (the miss floor;
  ``placeholders=False``: one output, as the origin makes) and the rendered file served by
  uvicorn + Starlette ``StaticFiles`` (the hit floor: the same kind of server as the origin).

Requests use one keep-alive connection per client thread (``http.client``); the clock is
around the request and the whole body. Peers are interleaved (the order rotates every
repetition) so drift hits all alike. Every answer is checked: status 200, the format asked
(magic bytes) and, for renders, the width asked.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SHARED = ROOT.parent / "shared"
INPUTS = {"jpeg12": "photo12mp.jpg", "jpeg22": "photo22mp.jpg"}
NOTES = {"jpeg12": "12 MP JPEG", "jpeg22": "22 MP JPEG"}
PEERS = ("thumbsmith", "ipx", "thumbor")
FORMATS = ("webp", "avif")
WIDTH = 640
#: Peers that keep no rendered result on the server: a repeat request renders again.
NO_RESULT_CACHE = {"ipx"}
KEY_PREFIX = "images/"
SIGNING_KEY = "bench-signing-key"  # a test key, for this run's origin only
MAGIC = {"webp": lambda b: b[8:12] == b"WEBP", "avif": lambda b: b[4:12] == b"ftypavif"}
TARGETS = (  # (label, numerator, denominator, at most)
    ("miss / ipx", "first", "ipx first", 0.6),
    ("miss / render floor", "first", "render floor", 1.3),
    ("hit / static floor", "repeat", "static floor", 1.5),
)
ONE_THREAD = {
    "THUMBSMITH_VIPS_CONCURRENCY": "1",
    "VIPS_CONCURRENCY": "1",
    "UV_THREADPOOL_SIZE": "1",
    "OMP_NUM_THREADS": "1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_rss(pid: int) -> int:
    """Bytes resident in ``pid`` and all its descendants, now (0 once it is gone)."""
    total, todo, page = 0, [pid], os.sysconf("SC_PAGE_SIZE")
    while todo:
        p = todo.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue  # exited between the listing and the read
    return total


@dataclass
class Server:
    """A peer's HTTP server in its own process group, with its tree's peak RSS sampled."""

    name: str
    cmd: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/"
    proc: subprocess.Popen[bytes] | None = None
    peak_rss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    log: Path | None = None

    def start(self, logdir: Path, timeout: float = 60.0) -> None:
        self.log = logdir / f"{self.name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                env={**os.environ, **ONE_THREAD, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        threading.Thread(target=self._sample, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited at start-up:\n{self.log.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.ready_path)
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"{self.name} did not answer within {timeout:.0f} s; see {self.log}")

    def _sample(self) -> None:
        while not self._stop.is_set() and self.proc and self.proc.poll() is None:
            self.peak_rss = max(self.peak_rss, tree_rss(self.proc.pid))
            self._stop.wait(0.02)

    def stop(self) -> None:
        self._stop.set()
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 2)  # SIGINT: every server here stops cleanly on it
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


@dataclass(frozen=True)
class Answer:
    ms: float
    status: int
    body: bytes
    cache: str
    timing: str = ""  # Server-Timing, thumbsmith's phases


class Client:
    """One keep-alive connection per thread to one server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def get(self, path: str) -> Answer:
        try:
            return self._get(path)
        except (http.client.RemoteDisconnected, ConnectionError):
            # A server closed the idle keep-alive connection (uvicorn after 5 s): once more
            # on a fresh one, timed from the start.
            self.local.conn = None
            return self._get(path)

    def _get(self, path: str) -> Answer:
        conn: http.client.HTTPConnection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            conn.connect()
            self.local.conn = conn
        start = time.perf_counter()
        conn.request("GET", path, headers={"Accept": "image/avif,image/webp,*/*"})
        response = conn.getresponse()
        body = response.read()
        ms = (time.perf_counter() - start) * 1000
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            self.local.conn = None
        cache, timing = (response.getheader(h, "") for h in ("X-Thumbsmith-Cache", "Server-Timing"))
        return Answer(ms, response.status, body, cache, timing)


def quality(fmt: str) -> int:
    """thumbsmith's default quality for a 640 px box, given to the peers too."""
    from thumbsmith.core.quality import MATCH, resolve

    return resolve(fmt, MATCH, WIDTH, None)


def url_for(peer: str, image: str, width: int, fmt: str) -> str:
    key = KEY_PREFIX + image
    if peer == "thumbsmith":
        from thumbsmith.service.ondemand import signing

        return signing.signed_path(key, {"w": str(width), "f": fmt}, SIGNING_KEY)
    q = quality(fmt)
    if peer == "ipx":
        return f"/w_{width},f_{fmt},q_{q}/{key}"
    if peer == "thumbor":
        return f"/unsafe/{width}x0/filters:format({fmt}):quality({q})/{key}"
    if peer == "static":
        return f"/{Path(image).stem}-{width}.{fmt}"
    raise ValueError(peer)


def make_servers(peers: Sequence[str], tmp: Path) -> dict[str, Server]:
    bucket, static = tmp / "photos", tmp / "static"
    servers: dict[str, Server] = {}
    for peer in peers:
        port = free_port()
        if peer == "thumbsmith":
            exe = Path(sys.executable).parent / "thumbsmith"
            cmd = [str(exe), "origin", str(bucket), "--listen", f"127.0.0.1:{port}"]
            env = {"THUMBSMITH_ORIGIN_SIGNING_KEYS": SIGNING_KEY}
            servers[peer] = Server(peer, [*cmd, "--workers", "1"], port, env)
        elif peer == "ipx":
            node = shutil.which("node") or "node"
            cmd = [node, str(BENCH / "peers/ipx_server.mjs"), str(bucket), str(port)]
            servers[peer] = Server(peer, cmd, port)
        elif peer == "thumbor":
            conf = tmp / "thumbor.conf"
            conf.write_text(thumbor_conf(bucket, tmp / "thumbor-results"))
            exe = BENCH / ".venv-thumbor/bin/thumbor"
            cmd = [str(exe), "--port", str(port), "--ip", "127.0.0.1", "--conf", str(conf)]
            servers[peer] = Server(peer, [*cmd, "-l", "warning"], port, ready_path="/healthcheck")
    port = free_port()
    cmd = [sys.executable, str(BENCH / "peers/static_server.py"), str(static), str(port)]
    servers["static"] = Server("static", cmd, port)
    return servers


def thumbor_conf(root: Path, results: Path) -> str:
    # Fair to the others: files from the folder, originals not cached (each render reads
    # the file), results kept on disk (its answer to a repeat request), upright, no EXIF.
    # Pillow's AVIF encoder takes a thread per CPU unless told: one, as everyone here.
    return "\n".join(
        [
            "import PIL.AvifImagePlugin",
            "PIL.AvifImagePlugin.DEFAULT_MAX_THREADS = 1",
            "LOADER = 'thumbor.loaders.file_loader'",
            f"FILE_LOADER_ROOT_PATH = {str(root)!r}",
            "STORAGE = 'thumbor.storages.no_storage'",
            "RESULT_STORAGE = 'thumbor.result_storages.file_storage'",
            f"RESULT_STORAGE_FILE_STORAGE_ROOT_PATH = {str(results)!r}",
            "RESULT_STORAGE_STORES_UNSAFE = True",
            "ALLOW_UNSAFE_URL = True",
            "RESPECT_ORIENTATION = True",
            "PRESERVE_EXIF_INFO = False",
            "ENGINE_THREADPOOL_SIZE = 0",
            "",
        ]
    )


def image_width(data: bytes) -> int:
    import pyvips

    return int(pyvips.Image.new_from_buffer(data, "").width)


class RenderFloor:
    """``core.render`` of the one rendition in this process, one libvips thread: the miss
    floor, timed in the same rotation as the servers' first requests."""

    def __init__(self, images: dict[str, bytes]) -> None:
        from thumbsmith.core import RenderOptions, configure

        configure(concurrency=1)
        self.images = images
        self.options = RenderOptions(placeholders=False)  # one output, as the origin makes

    def render(self, image: str, width: int, fmt: str) -> tuple[float, bytes]:
        from thumbsmith.core import render
        from thumbsmith.service.ondemand.params import AdHoc

        spec = AdHoc(width, None).spec(fmt)
        start = time.perf_counter()
        result = render(self.images[image], [spec], self.options)
        return (time.perf_counter() - start) * 1000, result.renditions[0].data

    def write_static(self, folder: Path, formats: Sequence[str]) -> None:
        """The hit floor's files: the same renditions, rendered here."""
        for image in self.images:
            for fmt in formats:
                data = self.render(image, WIDTH, fmt)[1]
                (folder / f"{Path(image).stem}-{WIDTH}.{fmt}").write_bytes(data)


class Run:
    def __init__(
        self,
        servers: dict[str, Server],
        peers: Sequence[str],
        args: argparse.Namespace,
        floor: RenderFloor,
    ) -> None:
        self.servers, self.peers, self.args, self.floor = servers, list(peers), args, floor
        self.clients = {name: Client(s.port) for name, s in servers.items()}
        self.problems: list[str] = []
        self.bytes: dict[tuple[str, str, str], int] = {}
        self.next_width = WIDTH + 1
        self.phases: dict[str, list[float]] = {}  # thumbsmith's Server-Timing, first requests

    def check(self, peer: str, path: str, a: Answer, fmt: str, width: int | None) -> None:
        where = f"{peer} {path[:90]}"
        if a.status != 200:
            self.problems.append(f"{where}: HTTP {a.status} {a.body[:200]!r}")
        elif not MAGIC[fmt](a.body):
            self.problems.append(f"{where}: not {fmt} ({a.body[:16]!r})")
        elif width is not None and image_width(a.body) != width:
            self.problems.append(f"{where}: width {image_width(a.body)}, asked {width}")

    def widths(self, n: int) -> list[int]:
        out = list(range(self.next_width, self.next_width + n))
        self.next_width += n
        return out

    def first(self, image: str, fmt: str) -> dict[str, float]:
        """Each repetition: one new width, every peer once, in a rotating order."""
        names = [*self.peers, "render"]
        times: dict[str, list[float]] = {p: [] for p in names}
        for rep, width in enumerate(self.widths(self.args.reps)):
            order = names[rep % len(names) :] + names[: rep % len(names)]
            for peer in order:
                if peer == "render":
                    times[peer].append(self.floor.render(image, width, fmt)[0])
                    continue
                path = url_for(peer, image, width, fmt)
                a = self.clients[peer].get(path)
                self.check(peer, path, a, fmt, width)
                if peer == "thumbsmith" and a.cache != "MISS":
                    self.problems.append(
                        f"thumbsmith first request: X-Thumbsmith-Cache {a.cache!r}"
                    )
                times[peer].append(a.ms)
                if peer == "thumbsmith":
                    self.phase(a)
        return {p: statistics.median(t) for p, t in times.items()}

    def phase(self, a: Answer) -> None:
        """``read;dur=1.0, render;dur=60.2, write;dur=2.1``, and the rest of the latency."""
        spent = 0.0
        for item in a.timing.split(","):
            name, _, dur = item.strip().partition(";dur=")
            if name and dur:
                self.phases.setdefault(name, []).append(float(dur))
                spent += float(dur)
        self.phases.setdefault("other", []).append(a.ms - spent)

    def repeat(self, image: str, fmt: str) -> dict[str, float]:
        names = [*self.peers, "static"]
        for peer in names:  # the first ask: a render (not timed), then the same URL again
            path = url_for(peer, image, WIDTH, fmt)
            a = self.clients[peer].get(path)
            self.check(peer, path, a, fmt, WIDTH)
            self.bytes[(peer, image, fmt)] = len(a.body)
        times: dict[str, list[float]] = {p: [] for p in names}
        for rep in range(self.args.reps * 3):
            order = names[rep % len(names) :] + names[: rep % len(names)]
            for peer in order:
                if peer in NO_RESULT_CACHE and rep >= self.args.reps:
                    continue  # it renders again each time: as many as the first requests
                a = self.clients[peer].get(url_for(peer, image, WIDTH, fmt))
                if peer == "thumbsmith" and a.cache != "HIT":
                    self.problems.append(
                        f"thumbsmith repeat request: X-Thumbsmith-Cache {a.cache!r}"
                    )
                times[peer].append(a.ms)
        return {p: statistics.median(t) for p, t in times.items()}

    def throughput(self, peer: str, paths: list[str], clients: int, fmt: str) -> float:
        client = self.clients[peer]
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            answers = list(pool.map(client.get, paths))
        seconds = time.perf_counter() - start
        for path, a in zip(paths, answers, strict=True):
            self.check(peer, path, a, fmt, None)
        return len(paths) / seconds

    def throughputs(self, image: str, fmt: str) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        n, hits = self.args.tput_n, self.args.tput_n * 10
        for peer in [*self.peers, "static"]:
            row: dict[str, float] = {}
            for c in (1, 4):
                if peer != "static":
                    paths = [url_for(peer, image, w, fmt) for w in self.widths(n)]
                    row[f"miss c{c}"] = self.throughput(peer, paths, c, fmt)
                if peer not in NO_RESULT_CACHE:  # else its "hit" is its miss, measured above
                    same = [url_for(peer, image, WIDTH, fmt)] * hits
                    row[f"hit c{c}"] = self.throughput(peer, same, c, fmt)
            out[peer] = row
        return out


def fmt_ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def report(results: dict[str, Any], peers: Sequence[str], servers: dict[str, Server]) -> bool:
    ok = True
    cols = "first ms | repeat ms | miss/s c1 | miss/s c4 | hit/s c1 | hit/s c4 | bytes"
    for case in results["cases"]:
        print(f"\n### {NOTES[case['input']]}, w={WIDTH} {case['format']}\n")
        print(f"| peer | {cols} |\n|---|---|---|---|---|---|---|---|")
        for peer in [*peers, "static"]:
            t = case["tput"].get(peer, {})
            label = "static floor" if peer == "static" else peer
            cells = [
                fmt_ms(case["first"].get(peer)),
                fmt_ms(case["repeat"].get(peer)),
                *(
                    f"{t[k]:.1f}" if k in t else "—"
                    for k in ("miss c1", "miss c4", "hit c1", "hit c4")
                ),
                str(case["bytes"].get(peer, "—")),
            ]
            print(f"| {label} | " + " | ".join(cells) + " |")
        print(f"| render floor | {fmt_ms(case['render floor'])} | — | — | — | — | — | — |")
        if "thumbsmith" not in peers:
            continue
        phases = ", ".join(f"{k} {v:.1f}" for k, v in case["phases"].items())
        print(f"- thumbsmith first requests, Server-Timing medians (ms): {phases}")
        for label, num, den, most in TARGETS:
            top = case[num]["thumbsmith"]
            bottom = {
                "ipx first": case["first"].get("ipx"),
                "render floor": case["render floor"],
                "static floor": case["repeat"].get("static"),
            }[den]
            if bottom is None:
                continue
            ratio = top / bottom
            passed = ratio <= most
            ok &= passed
            print(f"- {label}: {ratio:.2f} (target <= {most}) {'PASS' if passed else 'FAIL'}")
    print("\nPeak RSS of each server's process tree over the run (MB): " + ", ".join(
        f"{n} {s.peak_rss / 2**20:.0f}" for n, s in servers.items()))  # fmt: skip
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run, < 1 min (3 reps, 12 MP)")
    ap.add_argument("--reps", type=int, default=9, help="first-request repetitions (repeat: 3x)")
    ap.add_argument("--tput-n", type=int, default=8, help="renders per throughput round")
    ap.add_argument("--peers", default=",".join(PEERS), help=f"comma list of {', '.join(PEERS)}")
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--inputs", default=",".join(INPUTS), help=f"comma list of {', '.join(INPUTS)}")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if args.quick:
        args.reps, args.tput_n = 3, 2
        if args.inputs == ",".join(INPUTS):
            args.inputs = "jpeg12"
    peers = [p for p in args.peers.split(",") if p]
    formats = [f for f in args.formats.split(",") if f]
    bad = sorted(set(peers) - set(PEERS)) + sorted(set(formats) - set(FORMATS))
    if bad:
        ap.error(f"unknown peer or format: {', '.join(bad)}")
    images = {
        INPUTS[k]: (SHARED / "bench-images" / INPUTS[k]).read_bytes()
        for k in args.inputs.split(",")
    }
    threads = ", ".join(f"{k}={v}" for k, v in ONE_THREAD.items())
    print(
        f"# on-demand bench {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; one render thread each "
        f"({threads}; thumbsmith --workers 1)"
    )
    with tempfile.TemporaryDirectory(prefix="ondemand-bench-") as name:
        tmp = Path(name)
        (tmp / "photos" / KEY_PREFIX).mkdir(parents=True)
        (tmp / "static").mkdir()
        for image, data in images.items():
            (tmp / "photos" / KEY_PREFIX / image).write_bytes(data)
        floor = RenderFloor(images)
        floor.write_static(tmp / "static", formats)
        servers = make_servers(peers, tmp)
        try:
            for server in servers.values():
                server.start(tmp)
            results = measure(servers, peers, args, floor, formats)
        finally:
            for server in servers.values():
                server.stop()
    ok = report(results, peers, servers)
    print(f"\nload at end {os.getloadavg()[0]:.2f}")
    if results["problems"]:
        print("\nPROBLEMS:\n" + "\n".join(results["problems"][:20]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    # A benchmark, not a test: the targets are printed, and only a wrong answer (status,
    # format, width, cache header) fails the run.
    print(f"\ntargets: {'all passed' if ok else 'not all passed'}")
    return 1 if results["problems"] else 0


def measure(
    servers: dict[str, Server],
    peers: Sequence[str],
    args: argparse.Namespace,
    floor: RenderFloor,
    formats: Sequence[str],
) -> dict[str, Any]:
    run = Run(servers, peers, args, floor)
    images = floor.images
    for image in images:  # warm every code path once (imports, JIT, the render child)
        for fmt in formats:
            for peer in peers:
                run.clients[peer].get(url_for(peer, image, 600, fmt))
    cases = []
    for image in images:
        key = next(k for k, v in INPUTS.items() if v == image)
        for fmt in formats:
            first = run.first(image, fmt)
            repeat = run.repeat(image, fmt)
            phases = {k: statistics.median(v) for k, v in run.phases.items()}
            run.phases = {}
            tput = run.throughputs(image, fmt)
            nbytes = {p: run.bytes[(p, image, fmt)] for p in [*peers, "static"]}
            cases.append(
                {
                    "input": key,
                    "format": fmt,
                    "first": first,
                    "repeat": repeat,
                    "tput": tput,
                    "bytes": nbytes,
                    "render floor": first.pop("render"),
                    "phases": phases,
                }
            )
            print(f"  done {image} {fmt}", file=sys.stderr, flush=True)
    rss = {n: s.peak_rss for n, s in servers.items()}
    return {"cases": cases, "problems": run.problems, "rss": rss}


if __name__ == "__main__":
    sys.exit(main())
