"""S3 -> SQS -> ``thumbsmith worker`` processes: kill -9 and resume, and load.

Uploads go to moto; the S3 notifications land on SQS; N worker processes reach S3
through a counting proxy (no faults), so "exactly once" is checked as exactly one
successful PUT per rendition key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import boto3
import pytest

from support.faultproxy import FaultPlan, FaultProxy
from support.moto_server import make_buckets, make_queue, notify, queue_arn
from support.reliability import small_jpeg, vm_hwm_mb

RENDITIONS = ("large", "medium", "thumb")
MAX_BYTES = 40_000  # THUMBSMITH_MAX_BYTES for these runs: the "oversized" poison is bigger


@pytest.fixture
def clients(aws: str) -> tuple[Any, Any]:
    return boto3.client("s3", endpoint_url=aws), boto3.client("sqs", endpoint_url=aws)


@pytest.fixture
def counting_proxy(aws: str) -> Iterator[FaultProxy]:
    with FaultProxy(aws, FaultPlan()) as p:
        yield p


def setup_queue(s3: Any, sqs: Any, bucket: str, *, visibility: int) -> tuple[str, str]:
    """Buckets, a queue with a DLQ (redrive after 2 receives), S3 -> SQS on ObjectCreated."""
    make_buckets(s3, bucket)
    url = make_queue(sqs, bucket, visibility=visibility, max_receive=2)
    notify(s3, bucket, queue_arn(sqs, url), events=("s3:ObjectCreated:*",))
    return url, sqs.get_queue_url(QueueName=f"{bucket}-dlq")["QueueUrl"]


def worker_env(endpoint: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        THUMBSMITH_POLL_WAIT="1",
        THUMBSMITH_RETRY_ATTEMPTS="3",
        THUMBSMITH_MAX_BYTES=str(MAX_BYTES),
    )
    env.update({f"THUMBSMITH_{k.upper()}": v for k, v in settings.items()})
    return env


def start_worker(url: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """A worker whose output goes to a temp file, read with :func:`worker_log`.

    Not a pipe: a few thousand JSON log lines fill a pipe's buffer, and a worker blocked on
    writing its log would stall the whole run while nobody reads until it exits.
    """
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by worker_log
    proc = subprocess.Popen(
        [sys.executable, "-m", "thumbsmith", "worker", "--queue-url", url, *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    _logs[proc.pid] = log
    return proc


_logs: dict[int, IO[str]] = {}


def worker_log(proc: subprocess.Popen[str]) -> str:
    log = _logs.pop(proc.pid)
    with log:
        log.seek(0)
        return log.read()


def outputs(s3: Any, bucket: str) -> dict[str, tuple[Any, str]]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=f"{bucket}-output")
    return {o["Key"]: (o["LastModified"], o["ETag"]) for p in pages for o in p.get("Contents", [])}


def depth(sqs: Any, url: str) -> tuple[int, int]:
    a = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


# --- kill -9 and resume ----------------------------------------------------------------
@pytest.mark.timeout(300)
def test_worker_killed_midway_resumes_without_rewriting(clients: tuple[Any, Any], aws: str) -> None:
    s3, sqs = clients
    bucket = "kill-worker"
    url, dlq = setup_queue(s3, sqs, bucket, visibility=10)
    keys = [f"images/k {i:03d}.jpg" for i in range(150)]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=small_jpeg(i))
    # The worker receives with its own visibility timeout (the setting, minimum 10 s):
    # that is how long the killed worker's in-flight messages stay hidden.
    env = worker_env(aws, visibility_timeout="10")

    proc = start_worker(url, env, "--concurrency", "2")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(outputs(s3, bucket)) < 150:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its pool children, no goodbyes
    proc.wait()
    worker_log(proc)
    partial = outputs(s3, bucket)
    assert 150 <= len(partial) < 600, "the kill must land mid-run for this test to mean anything"
    time.sleep(1.1)  # LastModified has 1 s resolution: a rewrite must show

    # In-flight messages come back after the 10 s visibility timeout; idle-exit waits longer.
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "thumbsmith",
            "worker",
            "--queue-url",
            url,
            "--concurrency",
            "2",
            "--idle-exit",
            "10",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    final = outputs(s3, bucket)
    assert set(final) == {f"{r}/{k}.jpg" for k in keys for r in RENDITIONS} | {
        f"manifest/{k}.json" for k in keys
    }
    assert {k: final[k] for k in partial} == partial, "a finished rendition was rewritten"
    assert depth(sqs, url) == (0, 0)
    assert depth(sqs, dlq) == (0, 0)


# --- load ------------------------------------------------------------------------------
@dataclass
class LoadResult:
    uploads: int
    workers: int
    seconds: float
    per_s: float
    peak_rss_mb: dict[str, int] = field(default_factory=dict)
    logs: str = ""


class RssSampler(threading.Thread):
    """Samples VmHWM of each worker and of every descendant (its pool children)."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak: dict[str, int] = {}
        self.stop = threading.Event()

    def _children(self, pid: int) -> list[int]:
        out = []
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(status.parent.name))
        return out

    def run(self) -> None:
        while not self.stop.wait(0.5):
            for n, pid in enumerate(self.pids):
                label = f"worker{n}"
                self.peak[label] = max(self.peak.get(label, 0), vm_hwm_mb(pid))
                for child in self._children(pid):
                    self.peak["child"] = max(self.peak.get("child", 0), vm_hwm_mb(child))


def run_load(s3: Any, sqs: Any, proxy: FaultProxy, bucket: str, n: int, workers: int) -> LoadResult:
    url, dlq = setup_queue(s3, sqs, bucket, visibility=60)
    corrupt = {f"images/poison/corrupt {i}.jpg" for i in range(max(2, n // 100))}
    oversized = {f"images/poison/oversized {i}.jpg" for i in range(max(2, n // 200))}
    unparseable = max(2, n // 200)
    ok = [f"images/{i % 13}/up {i:05d}.jpg" for i in range(n - len(corrupt) - len(oversized))]
    for i, key in enumerate(ok):
        s3.put_object(Bucket=bucket, Key=key, Body=small_jpeg(i))
    for key in corrupt:
        s3.put_object(Bucket=bucket, Key=key, Body=small_jpeg(1)[:300])
    for key in oversized:
        s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(MAX_BYTES + 1))
    for i in range(unparseable):
        sqs.send_message(QueueUrl=url, MessageBody=f"not an event {i} {{")
    expected = {f"{r}/{k}.jpg" for k in ok for r in RENDITIONS} | {f"manifest/{k}.json" for k in ok}

    env = worker_env(proxy.url)
    start = time.monotonic()
    procs = [
        start_worker(url, env, "--concurrency", "1", "--idle-exit", "6") for _ in range(workers)
    ]
    sampler = RssSampler([p.pid for p in procs])
    sampler.start()
    done_at = None
    while any(p.poll() is None for p in procs):
        if done_at is None and len(outputs(s3, bucket)) >= len(expected):
            done_at = time.monotonic()
        # Listing thousands of keys competes with the workers for the in-process moto
        # server (one GIL with this test): poll rarely.
        time.sleep(0.5 if n <= 200 else 10)
    sampler.stop.set()
    logs = "".join(worker_log(p) for p in procs)
    assert all(p.returncode == 0 for p in procs), logs[-3000:]
    seconds = (done_at or time.monotonic()) - start

    # Every source's renditions exist, and each was PUT exactly once.
    assert set(outputs(s3, bucket)) == expected
    puts = {
        path: count
        for (method, path), count in proxy.requests.items()
        if method == "PUT" and path.startswith(f"/{bucket}-output/")
    }
    want_paths = {f"/{bucket}-output/{quote(k, safe='/~')}" for k in expected}
    assert set(puts) == want_paths, (len(puts), len(want_paths))
    twice = {p: c for p, c in puts.items() if c != 1}
    assert not twice, f"renditions written more than once: {list(twice.items())[:5]}"

    # Poison: corrupt/oversized logged as permanent failures and acknowledged; unparseable
    # messages in the DLQ; nothing anywhere else.
    records = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    permanent = {r.get("object", "") for r in records if r.get("message") == "permanent_failure"}
    for key in corrupt | oversized:
        assert f"s3://{bucket}/{key}" in permanent, key
    assert len(permanent) == len(corrupt | oversized), permanent
    assert depth(sqs, url) == (0, 0)
    dead = []
    while batch := sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages"):
        dead += [m["Body"] for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(dead) == sorted(f"not an event {i} {{" for i in range(unparseable))
    return LoadResult(n, workers, seconds, len(ok) / seconds, sampler.peak, logs)


@pytest.mark.timeout(300)
def test_load_60_uploads_two_workers(clients: tuple[Any, Any], counting_proxy: FaultProxy) -> None:
    # The suite's stand-in for the 2,000-upload run below (--runslow).
    s3, sqs = clients
    result = run_load(s3, sqs, counting_proxy, "load-small", 60, workers=2)
    print(f"load 60: {result.per_s:.1f} img/s, peak RSS {result.peak_rss_mb}")
    assert all(mb < 400 for mb in result.peak_rss_mb.values()), result.peak_rss_mb


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_load_2000_uploads(clients: tuple[Any, Any], counting_proxy: FaultProxy) -> None:
    s3, sqs = clients
    workers = int(os.environ.get("RELIABILITY_LOAD_WORKERS", "2"))
    result = run_load(s3, sqs, counting_proxy, "load-full", 2000, workers=workers)
    summary = {
        "uploads": result.uploads,
        "workers": result.workers,
        "seconds": round(result.seconds, 1),
        "renditions_sources_per_s": round(result.per_s, 1),
        "peak_rss_mb": result.peak_rss_mb,
    }
    print("LOAD " + json.dumps(summary))
    assert all(mb < 400 for mb in result.peak_rss_mb.values()), result.peak_rss_mb
