"""Backfill against S3 (the moto server): ``--enqueue`` and a killed, resumed run."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from PIL import Image

from support.aws import Backend, drain, make_buckets, make_queue, worker_env
from thumbsmith import cli
from thumbsmith.runners.bootstrap import process_config, s3_store, sqs_queue
from thumbsmith.runners.enqueue import enqueue, s3_event
from thumbsmith.service.events import parse
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ports import ObjectInfo
from thumbsmith.settings import Settings

ODD_KEYS = ["images/a b.jpg", "images/c+d.jpg", "images/100%.jpg", "images/ü/写真.jpg"]


def key_mapper(settings: Settings) -> KeyMapper:
    return process_config(settings).keys


def small_jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (seed % 256, 90, 160)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def test_enqueue_sends_one_event_per_object(
    s3: Any, sqs: Any, name: str, settings: Settings
) -> None:
    make_buckets(s3, name)
    url = make_queue(sqs, name)
    keys = [f"images/{i:02d}.jpg" for i in range(21)] + ODD_KEYS
    for key in keys:
        s3.put_object(Bucket=name, Key=key, Body=b"x")
    s3.put_object(Bucket=name, Key="images/folder/", Body=b"")
    s3.put_object(Bucket=name, Key="elsewhere/x.jpg", Body=b"x")

    count = enqueue(
        s3_store(settings), name, "images/", sqs_queue(settings, url), key_mapper(settings)
    )
    assert count == len(keys)
    messages = drain(sqs, url)
    assert len(messages) == len(keys)
    events = [e for m in messages for e in parse(m["Body"])]
    assert sorted(e.key for e in events) == sorted(keys)
    assert all(e.bucket == name and e.etag and e.size == 1 for e in events)


def test_enqueue_through_the_cli(s3: Any, sqs: Any, name: str) -> None:
    make_buckets(s3, name)
    url = make_queue(sqs, name)
    for key in ODD_KEYS:
        s3.put_object(Bucket=name, Key=key, Body=b"x")
    assert cli.main(["backfill", f"s3://{name}/images/", "--enqueue", url]) == 0
    assert len(drain(sqs, url)) == len(ODD_KEYS)


def test_enqueue_to_missing_queue_is_a_clear_error(
    s3: Any, moto_url: str, name: str, settings: Settings
) -> None:
    make_buckets(s3, name)
    s3.put_object(Bucket=name, Key="images/a.jpg", Body=b"x")
    from thumbsmith.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        enqueue(
            s3_store(settings),
            name,
            "images/",
            sqs_queue(settings, f"{moto_url}/123456789012/{name}-nope"),
            key_mapper(settings),
        )


def test_event_shape_round_trips_odd_keys() -> None:
    for key in ODD_KEYS:
        info = ObjectInfo(bucket="b", key=key, size=3, etag="abc")
        (event,) = parse(s3_event(info))
        assert event.key == key


def test_s3_backfill_killed_midway_resumes(s3: Any, name: str) -> None:
    """200 objects on S3; kill -9 partway; the rerun completes and rewrites nothing done."""
    make_buckets(s3, name)
    for i in range(200):
        s3.put_object(Bucket=name, Key=f"images/img {i:03d}.jpg", Body=small_jpeg(i))
    env = worker_env()
    cmd = [sys.executable, "-m", "thumbsmith", "backfill", f"s3://{name}/images/"]
    cmd += ["--workers", "2", "--no-progress"]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )

    def outputs() -> dict[str, Any]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=f"{name}-output")
        return {o["Key"]: o["LastModified"] for p in pages for o in p.get("Contents", [])}

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(outputs()) < 150:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = outputs()
    assert 150 <= len(partial) < 800, "the kill must land mid-run for this test to mean anything"
    time.sleep(1.1)  # LastModified has 1 s resolution: a rewrite must show

    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == 0, r.stderr
    final = outputs()
    assert len(final) == 800  # 200 x (three renditions + the manifest)
    # S3 PUTs are atomic, so every rendition seen before the kill is complete and kept.
    assert {k: final[k] for k in partial} == partial


def test_local_files_to_s3_end_to_end_on_both_backends(backend: Backend, name: str) -> None:
    """A new user's flow: upload local files through the S3 API, run the CLI against the
    store by endpoint alone (moto, and a real S3 server), get every rendition; a rerun
    writes nothing."""
    s3 = backend.s3
    make_buckets(s3, name)
    keys = [*ODD_KEYS, "images/two  spaces #1 😀.jpg"]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=name, Key=key, Body=small_jpeg(i), ContentType="image/jpeg")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THUMBSMITH_", "AWS_"))}
    env.update(backend.env)
    cmd = [sys.executable, "-m", "thumbsmith", "--renditions", "large=200,thumb=40"]
    cmd += ["backfill", f"s3://{name}/images/", "--no-progress", "--workers", "2"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"{len(keys)} objects: {len(keys)} written" in first.stdout
    for key in keys:
        for rendition, size in (("large", (200, 150)), ("thumb", (40, 30))):
            body = s3.get_object(Bucket=f"{name}-output", Key=f"{rendition}/{key}.jpg")["Body"]
            assert Image.open(io.BytesIO(body.read())).size == size
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert f"{len(keys)} objects: {len(keys)} skipped" in again.stdout, again.stderr
