"""Headless Chromium for page tests (Debian's chromium + chromium-driver, installed by
scripts/bootstrap), driven by Selenium; never downloads anything."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/lib/chromium/chromium")  # the binary: /usr/bin/chromium is a wrapper
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

#: For a module's ``pytestmark``: the marker, and a clean skip where Chromium is missing.
NEEDS_CHROMIUM = [
    pytest.mark.chromium,
    pytest.mark.skipif(
        not (CHROMIUM.is_file() and Path(CHROMEDRIVER).is_file()),
        reason="headless Chromium not installed (scripts/bootstrap installs it)",
    ),
]


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A fresh headless Chromium (its own profile) with a ``width`` x ``height`` window."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager never downloads
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="thumbsmith-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        f"--user-data-dir={profile}", "--no-first-run", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
