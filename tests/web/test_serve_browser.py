"""``thumbsmith serve`` in real headless Chromium (Debian's chromium + chromium-driver,
installed by scripts/bootstrap): the page shows every rendition as the files are,
uploads render without a reload, a broken file shows the CLI's line, delete removes.

SERVE_SCREENSHOT=docs/serve.png copies the screenshot there (the README's picture).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import REPO, corpus_file, size_of
from thumbsmith import settings as S
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.errors import ThumbsmithError
from thumbsmith.runners.bootstrap import processor
from thumbsmith.service.events import EventKind, ObjectEvent

CHROMIUM = Path("/usr/lib/chromium/chromium")  # the binary: /usr/bin/chromium is a wrapper
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SOURCES = (
    "sharp__Landscape_5.jpg",  # EXIF orientation 5: renditions come out landscape
    "sharp__Channel_digital_image_CMYK_color.jpg",
    "sharp__with-alpha.png",
    "libheif__example.heic",  # a browser cannot show the original, only the renditions
)
WIDTH, HEIGHT = 1280, 900
MAX_BYTES = 2 * 1024 * 1024  # above every source here

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.is_file() and Path(CHROMEDRIVER).is_file()),
    reason="headless Chromium not installed (scripts/bootstrap installs chromium, chromium-driver)",
)


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
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager never downloads
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="thumbsmith-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def cli_line(key: str, data: bytes) -> str:
    """What the CLI prints for this file: process() on a scratch store, same settings."""
    with tempfile.TemporaryDirectory() as scratch:
        store = LocalStore(scratch)
        store.put("photos", key, data, content_type="image/jpeg")
        try:
            processor(store, S.load(env={})).process(ObjectEvent("photos", key, EventKind.CREATED))
        except ThumbsmithError as exc:
            return f"error: {exc}"
    raise AssertionError(f"{key} was not rejected")


def save_small(shot: Path, dest: Path) -> None:
    """The README's copy: 256 colours, which keeps it legible at a third of the bytes."""
    from PIL import Image

    with Image.open(shot) as img:
        img.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(dest, optimize=True)


def card(driver: Any, key: str) -> str:
    return f'article.card[data-key="{key}"]'


def status_of(driver: Any, key: str) -> str | None:
    result: str | None = driver.execute_script(
        "const c = document.querySelector(arguments[0]); return c && c.dataset.status;",
        card(driver, key),
    )
    return result


def check_renditions(driver: Any, root: Path, selector: str = "img.rendition-img") -> int:
    """Every rendition image loaded, and what the page says of it is what the file is."""
    shown = driver.execute_script(
        """return [...document.querySelectorAll(arguments[0])].map(img => ({
             complete: img.complete, nw: img.naturalWidth, nh: img.naturalHeight,
             key: img.dataset.key, w: +img.dataset.width, h: +img.dataset.height,
             bytes: +img.dataset.bytes,
             caption: img.parentElement.querySelector('figcaption').textContent}))""",
        selector,
    )
    for img in shown:
        path = root / "photos-output" / img["key"]
        assert img["complete"] and img["nw"] > 0, img
        assert (img["nw"], img["nh"]) == (img["w"], img["h"]) == size_of(path.read_bytes()), img
        assert img["bytes"] == path.stat().st_size, img
        assert f"{img['w']}×{img['h']}" in img["caption"], img
    return len(shown)


def test_serve_in_chromium(server: tuple[str, Path], browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, root = server
    wait = WebDriverWait(browser, 20, poll_frequency=0.1)
    browser.get(url)

    def all_loaded(keys: list[str]) -> bool:
        return all(status_of(browser, k) == "done" for k in keys) and bool(
            browser.execute_script(
                "return [...document.images].every(i => i.complete && i.naturalWidth > 0)"
            )
        )

    keys = [f"images/{name}" for name in SOURCES]
    wait.until(lambda _: all_loaded(keys))
    assert check_renditions(browser, root) == 3 * len(SOURCES)
    facts = browser.find_element(By.CSS_SELECTOR, f"{card(browser, keys[3])} .facts").text
    assert facts.startswith("heic · 1280×854 · ")
    facts = browser.find_element(By.CSS_SELECTOR, f"{card(browser, keys[0])} .facts").text
    assert facts.startswith("jpeg · 450×600 · EXIF orientation 5 · ")

    # Upload a new photo through the file input: pending, then its renditions, no reload.
    marker = browser.execute_script("return window.__marker = Math.random()")
    upload = tmp_path / "new photo.jpg"  # a phone photo lying on its side (EXIF 6)
    shutil.copyfile(corpus_file("mei__Samsung_GT-I9000_orientation6.jpg"), upload)
    browser.find_element(By.ID, "file").send_keys(str(upload))
    new_key = "images/new photo.jpg"
    wait.until(lambda _: all_loaded([new_key]))
    assert browser.execute_script("return window.__marker") == marker  # same page, no reload
    assert check_renditions(browser, root, f"{card(browser, new_key)} img.rendition-img") == 3
    assert (root / "photos-output" / "large" / "images" / "new photo.jpg.jpg").is_file()

    wait.until(  # previews fade in over the placeholder: shoot once they are in
        lambda _: browser.execute_script(
            "return [...document.querySelectorAll('.preview img')]"
            ".every(i => getComputedStyle(i).opacity === '1')"
        )
    )
    shot = tmp_path / "serve.png"
    assert browser.save_screenshot(str(shot))
    assert size_of(shot.read_bytes()) == (WIDTH, HEIGHT)
    if os.environ.get("SERVE_SCREENSHOT"):
        save_small(shot, REPO / os.environ["SERVE_SCREENSHOT"])

    # A broken file: its card shows the CLI's one line and nothing else changes.
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a JPEG, whatever its name says\n" * 4)
    expected = cli_line("images/broken.jpg", broken.read_bytes())
    browser.find_element(By.ID, "file").send_keys(str(broken))
    sel = f"{card(browser, 'images/broken.jpg')} .status"
    wait.until(
        lambda _: (
            browser.execute_script(
                "const s = document.querySelector(arguments[0]); return s && s.textContent;", sel
            )
            == expected
        )
    )
    assert not browser.find_elements(By.CSS_SELECTOR, f"{card(browser, 'images/broken.jpg')} img")
    assert all(status_of(browser, k) == "done" for k in [*keys, new_key])
    assert check_renditions(browser, root) == 3 * (len(SOURCES) + 1)

    # Drag and drop (a real drop event carrying a File): pending first, then renditions.
    dropped = "images/dropped.jpg"
    browser.execute_script(
        """window.__seen = [];
        new MutationObserver(() => {
          const c = document.querySelector(arguments[0]);
          if (c && window.__seen.at(-1) !== c.dataset.status) window.__seen.push(c.dataset.status);
        }).observe(document.getElementById('grid'), {subtree: true, childList: true,
                                                      attributes: true});
        fetch(arguments[1]).then(r => r.blob()).then(blob => {
          const dt = new DataTransfer();
          dt.items.add(new File([blob], 'dropped.jpg', {type: 'image/jpeg'}));
          document.getElementById('drop').dispatchEvent(
            new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        });""",
        card(browser, dropped),
        f"/files/source/{keys[1]}",
    )
    wait.until(lambda _: all_loaded([dropped]))
    assert browser.execute_script("return window.__seen") == ["pending", "done"]
    assert (root / "photos" / dropped).read_bytes() == (root / "photos" / keys[1]).read_bytes()

    # Over max_bytes: refused before it lands (413), with the reason, and no card.
    browser.execute_script(
        """const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(arguments[0] + 1)], 'big.jpg'));
        document.getElementById('drop').dispatchEvent(
          new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));""",
        MAX_BYTES,
    )
    big = "#uploads li.error"
    wait.until(lambda _: browser.find_elements(By.CSS_SELECTOR, big))
    assert browser.find_element(By.CSS_SELECTOR, big).text.startswith(
        f"error: s3://photos/images/big.jpg: {MAX_BYTES + 1} bytes is over the limit of "
        f"{MAX_BYTES} (THUMBSMITH_MAX_BYTES)"
    )
    assert not (root / "photos" / "images" / "big.jpg").exists()
    assert status_of(browser, "images/big.jpg") is None

    # The detail view: the original, each rendition at 1:1, the render time.
    browser.find_element(By.CSS_SELECTOR, f"{card(browser, new_key)} h2 a").click()
    wait.until(
        lambda _: browser.execute_script(
            "const o = document.getElementById('original');"
            "return o && o.complete && o.naturalWidth > 0"
        )
    )
    assert check_renditions(browser, root, "#detail img.rendition-img") == 3
    widths = browser.execute_script(
        "return [...document.querySelectorAll('#detail img.rendition-img')]"
        ".map(i => { const r = i.getBoundingClientRect();"
        "            return [[r.width, r.height], [i.naturalWidth, i.naturalHeight]]; })"
    )
    assert all(shown == natural for shown, natural in widths), widths  # 1:1
    assert "render time: " in browser.find_element(By.ID, "render-time").text
    assert " ms" in browser.find_element(By.ID, "render-time").text
    browser.find_element(By.CSS_SELECTOR, "#detail a[href='#']").click()
    wait.until(lambda _: not browser.find_element(By.ID, "detail").is_displayed())

    # Delete a source: its card goes, and so do its renditions.
    gone = keys[0]
    browser.find_element(By.CSS_SELECTOR, f"{card(browser, gone)} button.delete").click()
    browser.switch_to.alert.accept()
    wait.until(lambda _: status_of(browser, gone) is None)
    out = root / "photos-output"
    wait.until(lambda _: not any(out.rglob(gone.rsplit("/", 1)[1] + ".*")))
    assert not (root / "photos" / gone).exists()
    assert all(status_of(browser, k) == "done" for k in [*keys[1:], new_key, dropped])
