"""Files a local bucket gets are created as ``open()`` creates them (0666 less the umask),
so a web server running as another user can serve ``photos-output/``."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.helpers import jpeg
from thumbsmith.adapters.storage.local import META_DIR, LocalStore

ENV = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}
UMASKS = [(0o022, 0o644), (0o027, 0o640)]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.mark.parametrize(("umask", "expected"), UMASKS, indirect=["umask"])
def test_put_creates_the_object_and_its_record_as_open_would(
    tmp_path: Path, umask: int, expected: int
) -> None:
    store = LocalStore(tmp_path)
    store.put("photos", "images/a.jpg", b"x", content_type="image/jpeg")  # an upload (serve)
    store.put("photos", "images/a.jpg", b"y", content_type="image/jpeg")  # a rewrite
    assert mode(tmp_path / "photos" / "images" / "a.jpg") == expected
    assert mode(tmp_path / META_DIR / "photos" / "images" / "a.jpg.json") == expected


@pytest.mark.parametrize(("umask", "expected"), UMASKS)
def test_convert_writes_renditions_manifest_and_records_readable(
    tmp_path: Path, umask: int, expected: int
) -> None:
    (tmp_path / "a.jpg").write_bytes(jpeg(400, 300))
    r = subprocess.run(
        [sys.executable, "-m", "thumbsmith", "convert", str(tmp_path / "a.jpg"), "-o",
         str(tmp_path / "out")],
        capture_output=True, text=True, env=ENV, umask=umask, timeout=120, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    records = [p for p in (tmp_path / META_DIR).rglob("*") if p.is_file()]
    names = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    assert "manifest/a.jpg.json" in names and "thumb/a.jpg.jpg" in names
    assert len(records) == len(written) == 4
    assert {p.as_posix(): mode(p) for p in written + records} == {
        p.as_posix(): expected for p in written + records
    }
