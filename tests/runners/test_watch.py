"""watch: a file dropped in gets renditions; deleting it removes them."""

from __future__ import annotations

import threading
import time
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
