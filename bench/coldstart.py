"""Cold-start cost of the Lambda handler module: what a fresh interpreter pays to import it.

Prints, for ``import thumbsmith.aws_lambda`` (or ``--module``):

* the total of ``python -X importtime`` (the cumulative time of the top-level import), and
  the ten slowest imports below it;
* the wall time of a fresh interpreter doing only that import, minus nothing (interpreter
  start-up included, as on Lambda), and of a bare ``python -c pass`` for comparison;

each the median of ``--runs`` (default 5). A missing module is reported, not a crash.

Then the on-demand origin's cold start as its function URL sees it (``--no-origin`` skips
it): a fresh interpreter imports ``thumbsmith.aws_lambda`` and answers its first
function-URL request (settings, the S3 client and the origin app are built in it; the
request renders a 640 px WebP from a 12 MP JPEG in S3 and writes it back), then a second
one (the same rendition by its key: a warm hit). S3 is a moto server on 127.0.0.1, so
the S3 round trips are faster than AWS's and the numbers are a floor.

Run: ``uv run python bench/coldstart.py``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time

MODULE = "thumbsmith.aws_lambda"
BUCKET = "coldstart"

#: In the child: import the handler, then two function-URL requests (payload 2.0).
ORIGIN_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import thumbsmith.aws_lambda as m
t1 = time.perf_counter()

def event(path, query):
    http = {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
            "userAgent": "Amazon CloudFront"}
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {"host": "x.lambda-url.us-east-1.on.aws", "accept": "image/webp"},
            "requestContext": {"http": http, "requestId": "r", "routeKey": "$default",
                               "stage": "$default", "accountId": "123456789012"},
            "isBase64Encoded": False}

key = sys.argv[1]
first = m.handler(event("/img/" + key, "p=medium&f=webp"), None)
t2 = time.perf_counter()
second = m.handler(event("/medium/" + key + ".webp", ""), None)
t3 = time.perf_counter()
print("TIMES " + json.dumps({
    "import": (t1 - t0) * 1e3, "first": (t2 - t1) * 1e3, "second": (t3 - t2) * 1e3,
    "status": [first["statusCode"], second["statusCode"]],
    "timing": first["headers"].get("server-timing", ""),
    "cache": [first["headers"].get("x-thumbsmith-cache"),
              second["headers"].get("x-thumbsmith-cache")]}))
"""


def importtime(module: str) -> tuple[float, list[tuple[float, str]]]:
    """Total µs of the module's import, and (cumulative µs, name) of its direct imports."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or ["?"]
        raise RuntimeError(last[0])
    rows: list[tuple[float, str]] = []
    total = 0.0
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        cum_us, name = float(parts[1]), parts[2][1:]  # keep the nesting indentation
        # -X importtime prints children before their parent, two spaces a level
        if name == module:
            total = cum_us
            break
        if not name.startswith(" "):
            rows = []  # an earlier top-level import (interpreter start-up, the package)
        elif not name.startswith("   "):
            rows.append((cum_us, name.strip()))
    return total, rows


def wall(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return (time.perf_counter() - t0) * 1e3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _photo() -> bytes:
    """A 12 MP JPEG (4000x3000), noisy enough to cost what a photo costs to decode."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(12)
    small = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC).save(buf, "JPEG")
    return buf.getvalue()


def origin_coldstart(runs: int) -> list[dict[str, object]]:
    """Each run: a fresh interpreter's import, first and second function-URL request."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    try:
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **{
            k.lower(): v for k, v in creds.items()
        })  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=f"{BUCKET}-output")
        photo = _photo()
        env = {
            **os.environ, **creds, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": url,
            "THUMBSMITH_ORIGIN_BUCKET": BUCKET, "THUMBSMITH_RENDITIONS": "medium=640:webp+jpeg",
            "THUMBSMITH_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_NAMESPACE": "thumbsmith",
        }  # fmt: skip
        out = []
        for n in range(runs):
            key = f"images/run{n}.jpg"  # a fresh source each run: the first request renders
            s3.put_object(Bucket=BUCKET, Key=key, Body=photo)
            proc = subprocess.run(
                [sys.executable, "-c", ORIGIN_CHILD, key],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            line = [x for x in proc.stdout.splitlines() if x.startswith("TIMES ")]
            if proc.returncode != 0 or not line:
                raise RuntimeError((proc.stderr.strip().splitlines() or ["?"])[-1])
            out.append(json.loads(line[0][len("TIMES ") :]))
        return out
    finally:
        server.stop()


def print_origin(runs: int) -> None:
    try:
        results = origin_coldstart(runs)
    except (ImportError, RuntimeError) as exc:
        print(f"origin cold start: not measured ({exc})")
        return

    def med(name: str) -> float:
        return statistics.median(float(str(r[name])) for r in results)

    def render_ms(result: dict[str, object]) -> float:
        phases = dict(p.split(";dur=") for p in str(result["timing"]).split(", ") if "=" in p)
        return float(phases.get("render", 0.0))

    render = statistics.median(render_ms(r) for r in results)
    print(f"on-demand origin behind a function URL (moto S3 on 127.0.0.1), median of {runs}:")
    print(f"  import {MODULE}:               {med('import'):8.1f} ms")
    print(f"  first request (set-up + a miss):         {med('first'):8.1f} ms")
    print(f"    of which the render (12 MP -> 640 WebP): {render:6.1f} ms")
    print(f"  second request (warm, a hit):            {med('second'):8.1f} ms")
    print(f"  answers: {results[-1]['status']} {results[-1]['cache']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module", default=MODULE)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-origin", action="store_true", help="skip the origin's cold start")
    args = ap.parse_args()

    try:
        totals = []
        rows: list[tuple[float, str]] = []
        for _ in range(args.runs):
            total, rows = importtime(args.module)
            totals.append(total)
    except RuntimeError as exc:
        print(f"{args.module}: cannot be imported yet ({exc}); nothing to measure.")
        return 0

    walls = [wall(f"import {args.module}") for _ in range(args.runs)]
    bare = [wall("pass") for _ in range(args.runs)]
    print(
        f"cold start of `import {args.module}` ({sys.executable}, Python "
        f"{sys.version.split()[0]}), median of {args.runs}:"
    )
    print(f"  -X importtime, cumulative:              {statistics.median(totals) / 1e3:8.1f} ms")
    print(f"  fresh interpreter + import, wall:       {statistics.median(walls):8.1f} ms")
    print(f"  fresh interpreter alone (-c pass), wall: {statistics.median(bare):8.1f} ms")
    print("  its slowest direct imports (cumulative ms, last run):")
    for cum, name in sorted(rows, reverse=True)[:10]:
        print(f"    {cum / 1e3:8.1f}  {name}")
    if not args.no_origin and args.module == MODULE:
        print_origin(args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
