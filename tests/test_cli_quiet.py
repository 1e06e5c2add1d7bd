"""A file that converts prints nothing on stderr (issue 22): libvips' warnings about the
file ("read gave 1 warnings", libjpeg's "N extraneous bytes before marker") go to the
debug log, shown with ``-v``."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from support.helpers import REPO

ENV = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}


def thumbsmith(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI: ``uv run thumbsmith`` where uv is installed, else the same entry
    point from this environment."""
    uv = shutil.which("uv")
    command = [uv, "run", "--frozen", "thumbsmith"] if uv else [sys.executable, "-m", "thumbsmith"]
    return subprocess.run(
        [*command, *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def junk_jpeg(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "junk.jpg"
    path.parent.mkdir()
    buf = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    sof = data.index(b"\xff\xc0")
    path.write_bytes(data[:sof] + b"junk" + data[sof:])  # libjpeg: 4 extraneous bytes
    return path


def test_a_jpeg_with_junk_between_markers_converts_silently(
    junk_jpeg: Path, tmp_path: Path
) -> None:
    r = thumbsmith("convert", str(junk_jpeg), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert (tmp_path / "out" / "large" / "junk.jpg.jpg").is_file()


def test_libvips_warnings_are_in_the_debug_log(junk_jpeg: Path, tmp_path: Path) -> None:
    r = thumbsmith("-v", "convert", str(junk_jpeg), "-o", str(tmp_path / "out"))
    assert r.returncode == 0
    debug = [line for line in r.stderr.splitlines() if line.startswith("DEBUG thumbsmith.vips:")]
    assert any("extraneous bytes before marker" in line for line in debug)
    assert "WARNING pyvips" not in r.stderr
