"""``thumbsmith receive`` end to end on real parts: a receiver subprocess, SeaweedFS as
the store, and SeaweedFS's own filer webhook (or MinIO-shaped bodies) as the sender."""

from __future__ import annotations

import http.client
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image

from support.aws import load_event
from support.moto_server import free_port
from support.receiver import TOKEN, Receiver, minio_body, peak_rss_kib, post_until_accepted
from support.seaweed_server import NOT_INSTALLED, SeaweedServer, find_weed, start_seaweed

RENDITIONS = {"THUMBSMITH_RENDITIONS": "large=64,thumb=16"}


def jpeg(width: int, height: int, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (seed % 256, 90, 160)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def size_of(s3: Any, bucket: str, key: str) -> tuple[int, int] | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    size: tuple[int, int] = Image.open(io.BytesIO(body)).size
    return size


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def make_buckets(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)
    s3.create_bucket(Bucket=f"{name}-output")


@pytest.fixture(scope="module")
def receiver(seaweed: SeaweedServer) -> Iterator[Receiver]:
    """One receiver on the session's SeaweedFS, shared by the tests that post to it."""
    rx = Receiver({**seaweed.env, **RENDITIONS})
    yield rx
    assert rx.stop() == 0


# --- SeaweedFS sends, through its own filer webhook -------------------------------------
@pytest.fixture(scope="module")
def notifying() -> Iterator[tuple[SeaweedServer, Receiver]]:
    """A SeaweedFS whose filer notifies a receiver (notification.toml, as its docs say)."""
    if find_weed() is None:
        pytest.skip(NOT_INSTALLED)
    port = free_port()
    with start_seaweed(webhook=(f"http://127.0.0.1:{port}/events", TOKEN)) as server:
        rx = Receiver({**server.env, **RENDITIONS}, port=port)
        yield server, rx
        assert rx.stop() == 0


def test_seaweed_notifications_make_replace_and_remove_renditions(
    notifying: tuple[SeaweedServer, Receiver],
) -> None:
    server, rx = notifying
    s3: Any = server.client()
    make_buckets(s3, "photos")
    out = "photos-output"
    key = "images/summer holiday+1 ü.jpg"

    s3.put_object(Bucket="photos", Key=key, Body=jpeg(200, 100))
    wait_for(lambda: size_of(s3, out, f"thumb/{key}.jpg") == (16, 8))
    assert size_of(s3, out, f"large/{key}.jpg") == (64, 32)

    s3.put_object(Bucket="photos", Key=key, Body=jpeg(100, 200))  # overwrite
    wait_for(lambda: size_of(s3, out, f"thumb/{key}.jpg") == (8, 16))
    assert size_of(s3, out, f"large/{key}.jpg") == (32, 64)

    s3.delete_object(Bucket="photos", Key=key)
    wait_for(lambda: s3.list_objects_v2(Bucket=out)["KeyCount"] == 0)
    # Directories, the gateway's .system tree and the renditions' own events were ignored.
    assert not rx.logs("unexpected_failure") and not rx.logs("notification ignored")


# --- MinIO-shaped bodies, SeaweedFS storage ---------------------------------------------
def test_minio_bodies_make_and_remove_renditions(
    seaweed: SeaweedServer, receiver: Receiver, name: str
) -> None:
    s3: Any = seaweed.client()
    make_buckets(s3, name)
    key = "images/red flower+1.jpg"
    s3.put_object(Bucket=name, Key=key, Body=jpeg(120, 60))
    status, answer = receiver.post(minio_body(name, key))
    # The answer comes after the work: the renditions are there when it arrives.
    assert (status, answer["verdict"], answer["written"]) == (200, "done", 2)
    assert size_of(s3, f"{name}-output", f"large/{key}.jpg") == (64, 32)

    status, answer = receiver.post(minio_body(name, key))  # a duplicate: nothing rewritten
    assert (status, answer["written"]) == (200, 0)

    s3.delete_object(Bucket=name, Key=key)
    status, _ = receiver.post(minio_body(name, key, "s3:ObjectRemoved:Delete"))
    assert status == 200
    assert s3.list_objects_v2(Bucket=f"{name}-output")["KeyCount"] == 0


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(load_event("minio-webhook-get.json")),  # an event we do not act on
        '{"hello": "world"}',  # unknown shape
        "not json at all",
    ],
)
def test_bodies_that_are_no_usable_notification_are_acknowledged(
    receiver: Receiver, body: str
) -> None:
    # MinIO retries anything but a 2xx every 3 s, forever: acknowledge, log, move on.
    status, answer = receiver.post(body)
    assert status == 200 and answer["verdict"] in {"done", "ignored"}


def test_head_probe_and_health(receiver: Receiver) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("HEAD", "/events", headers={"Authorization": f"Bearer {TOKEN}"})
    probe = conn.getresponse()
    probe.read()
    assert probe.status == 200  # MinIO's target probe
    conn.request("GET", "/health")
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["status"] == "ok"
    conn.close()


@pytest.mark.parametrize("token", [None, "wrong", TOKEN + "x", ""])
def test_wrong_or_missing_token_is_401_and_nothing_is_processed(
    seaweed: SeaweedServer, receiver: Receiver, name: str, token: str | None
) -> None:
    s3: Any = seaweed.client()
    make_buckets(s3, name)
    s3.put_object(Bucket=name, Key="images/a.jpg", Body=jpeg(40, 40))
    status, _ = receiver.post(minio_body(name, "images/a.jpg"), token=token)
    assert status == 401
    assert s3.list_objects_v2(Bucket=f"{name}-output")["KeyCount"] == 0


def test_a_10_mb_body_is_413_before_it_is_read(receiver: Receiver) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.putrequest("POST", "/events")
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(10 * 1024 * 1024))
    conn.endheaders()
    conn.send(b'{"Records": [' + b" " * 65536)  # the rest never needs to be sent
    assert conn.getresponse().status == 413
    conn.close()
    # A chunked body that grows past the limit is cut off too.
    chunks = (b'{"a": "' + b"x" * 1_000_000 for _ in range(12))
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/events",
            body=chunks,
            headers={"Authorization": f"Bearer {TOKEN}"},
            encode_chunked=True,
        )
        status = conn.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        status = 413  # refused and closed while we were still sending
    assert status == 413


# --- a burst, and a receiver killed in the middle of it ----------------------------------
def _burst(seaweed: SeaweedServer, name: str, count: int) -> dict[str, Any]:
    s3: Any = seaweed.client()
    make_buckets(s3, name)
    keys = [f"images/{i:04d}.jpg" for i in range(count)]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=name, Key=key, Body=jpeg(48, 32, i))
    port = free_port()
    receivers = [Receiver({**seaweed.env, **RENDITIONS}, port=port, workers=2)]
    try:
        return _send_burst(s3, name, keys, port, receivers, count)
    finally:
        for rx in receivers:
            rx.kill()  # only after a failure: the test stops the last one itself


def _send_burst(
    s3: Any, name: str, keys: list[str], port: int, receivers: list[Receiver], count: int
) -> dict[str, Any]:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    first = receivers[0]
    stop = threading.Event()  # a failed test must not wait for the senders' deadline
    env = first.env
    peaks: Counter[int] = Counter()
    accepted: list[int] = []

    def sample() -> None:
        for rx in receivers:
            for pid in [rx.proc.pid, *rx.children()]:
                peaks[pid] = max(peaks[pid], peak_rss_kib(pid))

    deadline = time.monotonic() + 240
    url = lambda: receivers[-1].url  # noqa: E731 - the current receiver
    with ThreadPoolExecutor(4) as senders:
        futures = [
            senders.submit(post_until_accepted, url, minio_body(name, k), deadline, stop)
            for k in keys
        ]
        try:
            try:
                wait_for(lambda: len(first.logs("written")) >= count // 3, timeout=120)
            except AssertionError:
                raise AssertionError("\n".join(first.lines[-20:])) from None
            sample()
            children = first.children()
            first.kill()  # SIGKILL: no drain, answers in flight are lost; senders retry
            wait_for(lambda: not any(_alive(pid) for pid in children), timeout=30)
            second = Receiver(env, port=port, workers=2)
            receivers.append(second)
            for future in futures:
                accepted.append(future.result())
                if len(accepted) % 10 == 0:
                    sample()
        finally:
            stop.set()
    sample()
    assert second.stop() == 0
    written = Counter(
        uri for rx in receivers for record in rx.logs("written") for uri in record["renditions"]
    )
    stored = [
        f"s3://{name}-output/{obj['Key']}"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=f"{name}-output")
        for obj in page.get("Contents", [])
    ]
    return {
        "keys": keys,
        "written": written,
        "stored": stored,
        "peak_kib": peaks,
        "retried": sum(1 for a in accepted if a > 1),
    }


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def _check_burst(result: dict[str, Any], name: str) -> None:
    expected = {
        f"s3://{name}-output/{r}/{k}.jpg" for k in result["keys"] for r in ("large", "thumb")
    }
    # What users see: every rendition and manifest of every source is in the bucket, and
    # nothing else.
    manifests = {f"s3://{name}-output/manifest/{k}.json" for k in result["keys"]}
    assert sorted(result["stored"]) == sorted(expected | manifests)
    # Logged as written at most once across the killed receiver and its successor: the
    # successor rewrote nothing the first one had logged.
    assert max(result["written"].values()) == 1
    assert set(result["written"]) <= expected
    # A rendition the killed receiver PUT in the instant before SIGKILL took its log line
    # is in the bucket but in no "written" line (its successor found it current and kept
    # it). Only the events in flight at the kill can do that: 2 render processes that run
    # one event each at a time, 2 renditions per event.
    unlogged = expected - set(result["written"])
    assert len(unlogged) <= 2 * 2, sorted(unlogged)
    assert result["retried"] > 0  # the kill really cost answers, and retries covered them
    assert max(result["peak_kib"].values()) < 200 * 1024  # parent and each child


def test_burst_of_500_survives_sigkill(seaweed: SeaweedServer, name: str) -> None:
    """500 notifications, 2 render processes, the receiver SIGKILLed a third of the way
    in and restarted; the senders retry until they get a 2xx (as MinIO's queue_dir does).
    ~10 s on a 2-core machine, so it stays in the normal suite."""
    result = _burst(seaweed, name, 500)
    _check_burst(result, name)
    print(f"peak RSS KiB per process: {sorted(result['peak_kib'].values())}")


def test_sigterm_drains_the_work_in_flight(seaweed: SeaweedServer, name: str) -> None:
    import threading

    s3: Any = seaweed.client()
    make_buckets(s3, name)
    buf = io.BytesIO()
    Image.linear_gradient("L").resize((4000, 4000)).save(buf, "PNG")  # ~0.5 s to render
    s3.put_object(Bucket=name, Key="images/big.png", Body=buf.getvalue())
    rx = Receiver({**seaweed.env, **RENDITIONS})
    answers: list[tuple[int, dict[str, Any]]] = []
    sender = threading.Thread(
        target=lambda: answers.append(rx.post(minio_body(name, "images/big.png")))
    )
    sender.start()

    def in_flight() -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", rx.port, timeout=5)
        conn.request("GET", "/health")
        busy = bool(json.loads(conn.getresponse().read())["in_flight"] > 0)
        conn.close()
        return busy

    try:
        wait_for(in_flight, timeout=20)
        assert rx.stop() == 0  # SIGTERM: finishes the request, then exits cleanly
        sender.join(10)
    finally:
        rx.kill()
    assert answers and answers[0][0] == 200 and answers[0][1]["written"] == 2
    assert s3.list_objects_v2(Bucket=f"{name}-output")["KeyCount"] == 3  # and its manifest
