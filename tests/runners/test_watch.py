"""watch: a file dropped in gets renditions; deleting it removes them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from support.helpers import jpeg, size_of, wait_for
from thumbsmith import settings as S
from thumbsmith.runners.target import parse_target
from thumbsmith.runners.watch import watch
from thumbsmith.service.outcome import EventResult


def test_watch_creates_and_removes_renditions(tmp_path: Path) -> None:
    images = tmp_path / "photos" / "images"
    images.mkdir(parents=True)
    results: list[EventResult] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=watch,
        args=(parse_target(str(tmp_path / "photos")), S.load(env={})),
        kwargs={"stop": stop, "settle": 0.2, "on_result": results.append},
        daemon=True,
    )
    thread.start()
    try:
        time.sleep(0.5)  # let the observer start
        large = tmp_path / "photos-output" / "large" / "images" / "new one.jpg.jpg"
        # Written in two chunks, like a slow copy: must be processed once, complete.
        data = jpeg(1200, 900)
        with (images / "new one.jpg").open("wb") as fh:
            fh.write(data[:1000])
            fh.flush()
            time.sleep(0.05)
            fh.write(data[1000:])
        assert wait_for(large.exists), f"no rendition; results: {results}"
        assert size_of(large.read_bytes()) == (1200, 900)
        assert not any(r.failed for r in results), results

        (images / "not-an-image.jpg").write_text("hello")
        assert wait_for(lambda: any(r.status == "permanent" for r in results))

        (images / "new one.jpg").unlink()
        thumb = tmp_path / "photos-output" / "thumb" / "images" / "new one.jpg.jpg"
        # The renditions go one after another: large first, thumb a moment later.
        assert wait_for(lambda: not large.exists() and not thumb.exists())
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def _watch_until(bucket: Path, done: Callable[[], bool]) -> tuple[str, str]:
    """``thumbsmith watch`` as a user runs it: its start line, and what it printed once
    ``done`` held and Ctrl-C stopped it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "thumbsmith", "watch", str(bucket), "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()
        assert wait_for(done, timeout=60), first
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    return first, out + err


def test_watch_catches_up_on_files_that_arrived_while_it_was_down(tmp_path: Path) -> None:
    images = tmp_path / "photos" / "images"
    images.mkdir(parents=True)
    (images / "a.jpg").write_bytes(jpeg(900, 600))
    (images / "b.jpg").write_bytes(jpeg(600, 900, seed=1))
    (tmp_path / "photos" / "elsewhere.jpg").write_bytes(jpeg(10, 10))  # outside it
    out = tmp_path / "photos-output"
    large = [out / "large" / "images" / f"{n}.jpg.jpg" for n in ("a", "b")]

    first, printed = _watch_until(tmp_path / "photos", lambda: all(p.exists() for p in large))
    assert first.startswith(f"watching {tmp_path / 'photos'} (prefix 'images/'), catching up")
    assert "the 2 file(s) already there; Ctrl-C stops" in first
    assert [size_of(p.read_bytes()) for p in large] == [(900, 600), (600, 900)]
    assert f"written: {images / 'a.jpg'}" in printed
    assert not (out / "large" / "elsewhere.jpg.jpg").exists()

    # Started again with nothing new: the files there are checked, none is redone, and
    # the up-to-date ones print nothing (one line per file there would drown the rest).
    before = {p: p.stat().st_mtime_ns for p in large}
    manifests = [out / "manifest" / "images" / f"{n}.jpg.json" for n in ("a", "b")]
    (images / "c.jpg").write_bytes(jpeg(300, 200, seed=2))
    c_large = out / "large" / "images" / "c.jpg.jpg"
    first, printed = _watch_until(tmp_path / "photos", c_large.exists)
    assert "catching up on the 3 file(s) already there" in first
    assert {p: p.stat().st_mtime_ns for p in large} == before
    assert all(m.exists() for m in manifests)
    assert "skipped" not in printed and "a.jpg" not in printed, printed
    assert f"written: {images / 'c.jpg'}" in printed
