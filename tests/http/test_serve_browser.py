"""``thumbsmith serve`` in real headless Chromium (Debian's chromium + chromium-driver,
installed by scripts/bootstrap): the page shows every rendition as the files are,
uploads render without a reload, a broken file shows the CLI's line, delete removes.

SERVE_SCREENSHOT=docs/serve.png copies the screenshot there (the README's picture).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.browser import NEEDS_CHROMIUM, chromium
from support.helpers import REPO, corpus_file, size_of
from thumbsmith import settings as S
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.errors import ThumbsmithError
from thumbsmith.runners.bootstrap import processor
from thumbsmith.service.events import EventKind, ObjectEvent

SOURCES = (
    "sharp__Landscape_5.jpg",  # EXIF orientation 5: renditions come out landscape
    "sharp__Channel_digital_image_CMYK_color.jpg",
    "sharp__with-alpha.png",
    "libheif__example.heic",  # a browser cannot show the original, only the renditions
)
WIDTH, HEIGHT = 1280, 900
MAX_BYTES = 2 * 1024 * 1024  # above every source here

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    images = tmp_path / "photos" / "images"
    images.mkdir(parents=True)
    for name in SOURCES:
        shutil.copyfile(corpus_file(name), images / name)
    env = {**os.environ, "THUMBSMITH_WORKERS": "2", "THUMBSMITH_MAX_BYTES": str(MAX_BYTES)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "thumbsmith", "serve", str(tmp_path / "photos"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert " at http://127.0.0.1:" in first, first
    url = first.rsplit(" at ", 1)[1].strip()
    try:
        yield url, tmp_path
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "Traceback" not in out, out


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium(WIDTH, HEIGHT) as driver:
        yield driver


def cli_line(key: str, data: bytes, root: Path) -> str:
    """What the CLI prints for this file: process() on a scratch store, same settings,
    with the scratch folder's path in it replaced by ``root``'s (the server's)."""
    with tempfile.TemporaryDirectory() as scratch:
        store = LocalStore(scratch)
        store.put("photos", key, data, content_type="image/jpeg")
        try:
            processor(store, S.load(env={})).process(ObjectEvent("photos", key, EventKind.CREATED))
        except ThumbsmithError as exc:
            return f"error: {exc}".replace(str(store.root), str(root.resolve()))
    raise AssertionError(f"{key} was not rejected")


def save_small(shot: Path, dest: Path) -> None:
    """The README's copy: 256 colours, which keeps it legible at a third of the bytes."""
    from PIL import Image

    with Image.open(shot) as img:
        img.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(dest, optimize=True)


DROP_JS = """function dropFile(file) {
  const dt = new DataTransfer();
  dt.items.add(file);
  document.getElementById('drop').dispatchEvent(
    new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
}
"""


class Page:
    """The page in the browser, and the bucket folders behind it."""

    def __init__(self, driver: Any, root: Path) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.root = root
        self.wait = WebDriverWait(driver, 20, poll_frequency=0.1)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def text(self, selector: str) -> str:
        """The element's text; "" when there is no such element."""
        result: str = self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
            selector,
        )
        return result

    def status(self, key: str) -> str | None:
        result: str | None = self.js(
            "const c = document.querySelector(arguments[0]); return c && c.dataset.status;",
            card(key),
        )
        return result

    def until(self, cond: Any) -> None:
        self.wait.until(lambda _: cond())

    def loaded(self, *keys: str) -> bool:
        """These cards are done and every image on the page has loaded."""
        return all(self.status(k) == "done" for k in keys) and bool(
            self.js("return [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        )

    def pick(self, path: Path) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.ID, "file").send_keys(str(path))

    def renditions(self, selector: str = "img.rendition-img") -> int:
        """Every rendition image loaded, and what the page says of it is what the file is."""
        shown = self.js(
            """return [...document.querySelectorAll(arguments[0])].map(img => ({
                 complete: img.complete, nw: img.naturalWidth, nh: img.naturalHeight,
                 key: img.dataset.key, w: +img.dataset.width, h: +img.dataset.height,
                 bytes: +img.dataset.bytes,
                 caption: img.parentElement.querySelector('figcaption').textContent}))""",
            selector,
        )
        for img in shown:
            path = self.root / "photos-output" / img["key"]
            assert img["complete"] and img["nw"] > 0, img
            assert (img["nw"], img["nh"]) == (img["w"], img["h"]) == size_of(path.read_bytes())
            assert img["bytes"] == path.stat().st_size, img
            assert f"{img['w']}×{img['h']}" in img["caption"], img
        return len(shown)


def card(key: str) -> str:
    return f'article.card[data-key="{key}"]'


KEYS = [f"images/{name}" for name in SOURCES]
NEW = "images/new photo.jpg"
DROPPED = "images/dropped.jpg"


def test_serve_in_chromium(server: tuple[str, Path], browser: Any, tmp_path: Path) -> None:
    url, root = server
    page = Page(browser, root)
    browser.get(url)
    page.until(lambda: page.loaded(*KEYS))
    assert page.renditions() == 3 * len(SOURCES)
    assert page.text(f"{card(KEYS[3])} .facts").startswith("heic · 1280×854 · ")
    assert page.text(f"{card(KEYS[0])} .facts").startswith("jpeg · 450×600 · EXIF orientation 5")
    upload_through_the_file_input(page, tmp_path)
    screenshot(page, tmp_path)
    broken_file_shows_the_cli_line(page, tmp_path)
    drop_pending_then_done(page)
    too_big_is_refused(page)
    detail_view(page)
    delete_takes_the_renditions(page)


def upload_through_the_file_input(page: Page, tmp_path: Path) -> None:
    """A new photo: pending, then its renditions, without a reload."""
    marker = page.js("return window.__marker = Math.random()")
    upload = tmp_path / "new photo.jpg"  # a phone photo lying on its side (EXIF 6)
    shutil.copyfile(corpus_file("mei__Samsung_GT-I9000_orientation6.jpg"), upload)
    page.pick(upload)
    page.until(lambda: page.loaded(NEW))
    assert page.js("return window.__marker") == marker  # the same page: no reload
    assert page.renditions(f"{card(NEW)} img.rendition-img") == 3
    assert size_of((page.root / "photos-output/large/images/new photo.jpg.jpg").read_bytes()) == (
        480,
        640,
    )


def screenshot(page: Page, tmp_path: Path) -> None:
    page.until(  # previews fade in over the placeholder: shoot once they are in
        lambda: page.js(
            "return [...document.querySelectorAll('.preview img')]"
            ".every(i => getComputedStyle(i).opacity === '1')"
        )
    )
    shot = tmp_path / "serve.png"
    assert page.driver.save_screenshot(str(shot))
    assert size_of(shot.read_bytes()) == (WIDTH, HEIGHT)
    if os.environ.get("SERVE_SCREENSHOT"):
        save_small(shot, REPO / os.environ["SERVE_SCREENSHOT"])


def broken_file_shows_the_cli_line(page: Page, tmp_path: Path) -> None:
    """Its card shows the CLI's one line, and nothing else changes."""
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a JPEG, whatever its name says\n" * 4)
    expected = cli_line("images/broken.jpg", broken.read_bytes(), page.root)
    page.pick(broken)
    page.until(lambda: page.text(f"{card('images/broken.jpg')} .status") == expected)
    assert (
        page.js(
            "return document.querySelectorAll(arguments[0]).length",
            f"{card('images/broken.jpg')} img",
        )
        == 0
    )
    assert all(page.status(k) == "done" for k in [*KEYS, NEW])
    assert page.renditions() == 3 * (len(SOURCES) + 1)


def drop_pending_then_done(page: Page) -> None:
    """A real drop event carrying a File: the card is pending first, then has renditions."""
    page.js(
        """window.__seen = [];
        new MutationObserver(() => {
          const c = document.querySelector(arguments[0]);
          if (c && window.__seen.at(-1) !== c.dataset.status) window.__seen.push(c.dataset.status);
        }).observe(document.getElementById('grid'),
                   {subtree: true, childList: true, attributes: true});""",
        card(DROPPED),
    )
    page.js(
        DROP_JS + "fetch(arguments[0]).then(r => r.blob())"
        ".then(b => dropFile(new File([b], 'dropped.jpg', {type: 'image/jpeg'})));",
        f"/files/source/{KEYS[1]}",
    )
    page.until(lambda: page.loaded(DROPPED))
    assert page.js("return window.__seen") == ["pending", "done"]
    root = page.root / "photos"
    assert (root / DROPPED).read_bytes() == (root / KEYS[1]).read_bytes()


def too_big_is_refused(page: Page) -> None:
    """Over max_bytes: the reason, in process()'s words, and nothing lands."""
    page.js(
        DROP_JS + "dropFile(new File([new Uint8Array(arguments[0] + 1)], 'big.jpg'));", MAX_BYTES
    )
    page.until(lambda: page.text("#uploads li.error"))
    assert page.text("#uploads li.error").startswith(
        f"error: {page.root.resolve() / 'photos/images/big.jpg'}: {MAX_BYTES + 1} bytes is "
        "over the limit of "
        f"{MAX_BYTES} (THUMBSMITH_MAX_BYTES)"
    )
    assert not (page.root / "photos" / "images" / "big.jpg").exists()
    assert page.status("images/big.jpg") is None


def detail_view(page: Page) -> None:
    """The original, each rendition at 1:1, the render time."""
    page.js("document.querySelector(arguments[0]).click()", f"{card(NEW)} h2 a")
    page.until(
        lambda: page.js(
            "const o = document.getElementById('original');"
            "return o && o.complete && o.naturalWidth > 0"
        )
    )
    assert page.renditions("#detail img.rendition-img") == 3
    sizes = page.js(
        "return [...document.querySelectorAll('#detail img.rendition-img')]"
        ".map(i => { const r = i.getBoundingClientRect();"
        "            return [[r.width, r.height], [i.naturalWidth, i.naturalHeight]]; })"
    )
    assert all(shown == natural for shown, natural in sizes), sizes  # 1:1
    time = page.text("#render-time")
    assert re.fullmatch(r"render time: [0-9.]+ ms", time), time
    on_demand_slider(page)
    page.js("document.querySelector('#detail a[href=\"#\"]').click()")
    page.until(lambda: page.js("return document.getElementById('detail').hidden"))


def on_demand(page: Page) -> dict[str, Any]:
    """The on-demand image as loaded, and what the page says of its last request."""
    shown: dict[str, Any] = page.js(
        """const i = document.getElementById('od-img'), s = document.getElementById('od-status');
        return {complete: i.complete, nw: i.naturalWidth, asked: +(i.dataset.width || 0),
                format: i.dataset.format, cache: s.dataset.cache, status: s.textContent};"""
    )
    return shown


def on_demand_slider(page: Page) -> None:
    """The slider asks the origin mounted at /origin for that width: rendered on first
    request (MISS), written under _ondemand/, served from the bucket the next time (HIT)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    ondemand = page.root / "photos-output" / "_ondemand" / NEW

    def showing(width: int, fmt: str, cache: str) -> bool:
        got = on_demand(page)
        return (
            got["complete"]
            and got["nw"] == got["asked"] == width
            and (
                got["format"],
                got["cache"],
            )
            == (fmt, cache)
        )

    # Upright (EXIF 6), the photo is 480 wide: the slider's most, as nothing is upscaled.
    page.until(lambda: showing(480, "auto", "MISS"))
    page.driver.find_element(By.ID, "od-width").send_keys(*[Keys.ARROW_LEFT] * 5)
    page.until(lambda: showing(475, "auto", "MISS"))
    assert "image/avif" in on_demand(page)["status"]  # auto, with Chromium's Accept
    assert size_of((ondemand / "w475-inside.avif").read_bytes()) == (475, 633)
    Select(page.driver.find_element(By.ID, "od-format")).select_by_value("webp")
    page.until(lambda: showing(475, "webp", "MISS"))
    assert size_of((ondemand / "w475-inside.webp").read_bytes()) == (475, 633)
    Select(page.driver.find_element(By.ID, "od-format")).select_by_value("auto")
    page.until(lambda: showing(475, "auto", "HIT"))
    assert "X-Thumbsmith-Cache: HIT" in on_demand(page)["status"]


def delete_takes_the_renditions(page: Page) -> None:
    gone = KEYS[0]
    page.js("document.querySelector(arguments[0]).click()", f"{card(gone)} button.delete")
    page.driver.switch_to.alert.accept()
    page.until(lambda: page.status(gone) is None)
    out = page.root / "photos-output"
    page.until(lambda: not any(out.rglob(gone.rsplit("/", 1)[1] + ".*")))
    assert not (page.root / "photos" / gone).exists()
    assert all(page.status(k) == "done" for k in [*KEYS[1:], NEW, DROPPED])
