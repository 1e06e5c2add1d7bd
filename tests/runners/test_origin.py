"""``thumbsmith origin``, ``thumbsmith sign`` and what the origin's objects mean to the
rest: the render pool's timeout and queue limit (503, and the pool recovers), the CLI
as a real process, and delete propagation and ``sync`` clearing ad-hoc renditions with
their source."""

from __future__ import annotations

import io
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from support.helpers import created, jpeg, wait_for
from support.origin import fetch, running
from thumbsmith import cli
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.runners import bootstrap
from thumbsmith.runners.origin import build
from thumbsmith.runners.sync import sync
from thumbsmith.runners.target import parse_target
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.ondemand.signing import Check, verify
from thumbsmith.settings import load

KEY = "a-signing-key-for-tests-0123"


def noise_jpeg(width: int, height: int) -> bytes:
    bands = [Image.effect_noise((width, height), 60 + 10 * i) for i in range(3)]
    buf = io.BytesIO()
    Image.merge("RGB", bands).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    (tmp_path / "photos" / "images").mkdir(parents=True)
    (tmp_path / "photos" / "images" / "cat.jpg").write_bytes(jpeg(800, 600))
    return tmp_path / "photos"


def test_a_render_past_its_timeout_is_503_its_child_killed_and_the_pool_recovers(
    bucket: Path,
) -> None:
    (bucket / "images" / "big.jpg").write_bytes(noise_jpeg(4000, 3000))
    settings = load(
        env={
            "THUMBSMITH_RENDITIONS": "huge=4000:avif,thumb=100:webp",
            "THUMBSMITH_AVIF_EFFORT": "9",
            "THUMBSMITH_ORIGIN_RENDER_TIMEOUT": "1",
            "THUMBSMITH_ORIGIN_QUEUE": "0",
        }
    )
    built = build(parse_target(str(bucket)), settings, workers=1)
    assert built.renderers is not None
    built.renderers.warm_up()
    try:
        with running(built.app) as url:
            slow: dict[str, Any] = {}
            thread = threading.Thread(
                target=lambda: slow.update(reply=fetch(url, "/huge/images/big.jpg.avif"))
            )
            thread.start()
            assert wait_for(lambda: built.renderers is not None and built.renderers.busy == 1, 20)
            # The one render process is busy and no queue is allowed: 503 at once.
            full = fetch(url, "/thumb/images/cat.jpg.webp")
            assert full.status == 503 and full["Retry-After"] and b"too many renders" in full.body
            thread.join(30)
            timed_out = slow["reply"]
            assert timed_out.status == 503 and b"ran past 1 s" in timed_out.body
            assert timed_out["Cache-Control"] == "no-store"
            again = fetch(url, "/thumb/images/cat.jpg.webp")
            assert again.status == 200 and again["X-Thumbsmith-Cache"] == "MISS"
    finally:
        built.close()
    assert not (bucket.parent / "photos-output" / "huge").exists()


def test_the_cli_prints_its_url_when_ready_and_serves(bucket: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "thumbsmith", "origin", str(bucket), "--listen", "127.0.0.1:0",
         "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        assert " at http://127.0.0.1:" in line and "signing off" in line, line
        url = line.split(" at ", 1)[1].split(" ", 1)[0].rstrip("/")
        reply = fetch(url, "/img/images/cat.jpg?p=thumb&f=jpeg")
        assert reply.status == 200 and reply["X-Thumbsmith-Cache"] == "MISS"
        assert fetch(url, "/img/images/cat.jpg?w=10").status == 403
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_sign_prints_a_url_the_origin_accepts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THUMBSMITH_ORIGIN_SIGNING_KEYS", f"{KEY},older-key-0123456789")
    url = "https://cdn.example.com/img/images/a%20b.jpg?w=640&f=webp"
    assert cli.main(["sign", url, "--expires", "60"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("https://cdn.example.com/img/images/a%20b.jpg?exp=")
    query = dict(p.split("=", 1) for p in out.split("?", 1)[1].split("&"))
    assert verify("images/a b.jpg", query, [KEY], time.time()).check is Check.OK
    assert int(query["exp"]) - time.time() == pytest.approx(60, abs=5)
    assert cli.main(["config"]) == 0
    shown = capsys.readouterr().out
    assert "origin signing: on (2 keys)" in shown and KEY not in shown


def test_sign_without_a_key_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("THUMBSMITH_ORIGIN_SIGNING_KEYS", raising=False)
    assert cli.main(["sign", "/img/images/a.jpg?w=640"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "THUMBSMITH_ORIGIN_SIGNING_KEYS" in err
    assert cli.main(["config"]) == 0
    assert "origin signing: off" in capsys.readouterr().out


def _ad_hoc(bucket: Path, key: str) -> str:
    """Renders an ad-hoc WebP of ``key`` through the origin; its output key."""
    settings = load(env={"THUMBSMITH_ORIGIN_SIGNING_KEYS": KEY})
    from thumbsmith.service.ondemand.signing import sign_url

    built = build(parse_target(str(bucket)), settings, inline=True)
    with running(built.app) as url:
        assert fetch(url, sign_url(f"/img/{key}?w=50&f=webp", KEY)).status == 200
    return f"_ondemand/{key}/w50-inside.webp"


def test_deleting_a_source_deletes_its_ad_hoc_renditions_and_only_its(bucket: Path) -> None:
    (bucket / "images" / "cat.jpg.d").mkdir()
    (bucket / "images" / "cat.jpg.d" / "x.jpg").write_bytes(jpeg(200, 100))
    mine = _ad_hoc(bucket, "images/cat.jpg")
    other = _ad_hoc(bucket, "images/cat.jpg.d/x.jpg")
    out = bucket.parent / "photos-output"
    assert (out / mine).is_file() and (out / other).is_file()
    (bucket / "images" / "cat.jpg").unlink()
    processor = bootstrap.processor(LocalStore(bucket.parent), load(env={}))
    outcome = processor.process(ObjectEvent("photos", "images/cat.jpg", EventKind.REMOVED))
    assert f"s3://photos-output/{mine}" in outcome.deleted
    assert not (out / mine).exists() and (out / other).is_file()


def test_sync_keeps_ad_hoc_renditions_of_sources_that_exist_and_deletes_the_rest(
    bucket: Path,
) -> None:
    (bucket / "images" / "dog.jpg").write_bytes(jpeg(300, 200))
    settings = load(env={})
    processor = bootstrap.processor(LocalStore(bucket.parent), settings)
    processor.process(created("images/cat.jpg"))
    cat, dog = _ad_hoc(bucket, "images/cat.jpg"), _ad_hoc(bucket, "images/dog.jpg")
    (bucket / "images" / "dog.jpg").unlink()
    summary = sync(parse_target(str(bucket)), settings, workers=1)
    out = bucket.parent / "photos-output"
    assert (out / cat).is_file() and not (out / dog).exists()
    assert any(d.endswith(dog) for d in summary.deleted), summary.deleted
    assert not any(d.endswith(cat) for d in summary.deleted)
