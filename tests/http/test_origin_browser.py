"""A page in headless Chromium whose ``<picture>``, ``srcset`` and ``f=auto`` images all
point at ``thumbsmith origin``: every image loads at the width asked, and Chromium (whose
``Accept`` names AVIF) gets AVIF wherever the format is left to the origin."""

from __future__ import annotations

import html
import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.browser import NEEDS_CHROMIUM, chromium
from support.helpers import jpeg

pytestmark = NEEDS_CHROMIUM
SRC = "/img/images/cat.jpg"


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    images = tmp_path / "photos" / "images"
    images.mkdir(parents=True)
    (images / "cat.jpg").write_bytes(jpeg(1600, 1200))
    env = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}
    env.update(THUMBSMITH_RENDITIONS="large=800:avif+webp+jpeg", THUMBSMITH_ORIGIN_WIDTHS="320,640")
    proc = subprocess.Popen(
        [sys.executable, "-m", "thumbsmith", "origin", str(tmp_path / "photos"),
         "--listen", "127.0.0.1:0", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert " at http://127.0.0.1:" in first, first
    try:
        yield first.split(" at ", 1)[1].split()[0].rstrip("/"), tmp_path / "photos-output"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        assert "Traceback" not in out, out


def page(base: str) -> bytes:
    def u(query: str) -> str:
        return html.escape(f"{base}{SRC}?{query}")

    return f"""<!doctype html><meta charset=utf-8><title>origin</title>
<picture>
  <source type="image/avif" srcset="{u("p=large&f=avif")}">
  <source type="image/webp" srcset="{u("p=large&f=webp")}">
  <img id=picture src="{u("p=large&f=jpeg")}" alt="">
</picture>
<img id=srcset srcset="{u("w=320")} 320w, {u("w=640")} 640w" sizes="300px" alt="">
<img id=auto src="{u("p=large")}" alt="">
""".encode()


@pytest.fixture
def site(origin: tuple[str, Path]) -> Iterator[str]:
    body = page(origin[0])

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def test_every_image_of_the_page_loads_from_the_origin_and_chromium_gets_avif(
    origin: tuple[str, Path], site: str
) -> None:
    _, out = origin
    with chromium() as browser:
        browser.get(site)
        state = (
            "return [...document.images].map(i => [i.id, i.complete, i.naturalWidth, i.currentSrc])"
        )
        deadline = time.monotonic() + 60
        images = browser.execute_script(state)
        while not all(done and width for _, done, width, _ in images):
            assert time.monotonic() < deadline, images
            time.sleep(0.2)
            images = browser.execute_script(state)
    got = {name: (width, src) for name, _, width, src in images}
    assert got["picture"][0] == 800 and got["picture"][1].endswith("f=avif"), got
    # 300 CSS px at 1x: the 320w candidate, its natural width scaled by its density.
    assert got["srcset"][1].endswith("?w=320") and got["srcset"][0] in (299, 300), got
    assert got["auto"][0] == 800, got
    # What the origin wrote is what Chromium was served: AVIF where the origin chose.
    assert (out / "large/images/cat.jpg.avif").is_file()
    assert (out / "_ondemand/images/cat.jpg/w320-inside.avif").is_file()
    assert not (out / "large/images/cat.jpg.jpg").exists()  # the <img> fallback never ran
