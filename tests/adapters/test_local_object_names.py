"""A local bucket's objects are named by their paths in every message (convert, backfill,
sync, watch, the serve page), since that is what a user can open; S3 objects keep
``s3://bucket/key``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from support.helpers import jpeg, wait_for
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.errors import ObjectNotFound, StorageError
from thumbsmith.service.ports import object_name

ENV = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "thumbsmith", *args],
        capture_output=True, text=True, env=ENV, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    images = tmp_path / "photos" / "images"
    images.mkdir(parents=True)
    (images / "ok.jpg").write_bytes(jpeg(200, 100))
    (images / "broken.jpg").write_bytes(jpeg()[:400])
    return tmp_path.resolve() / "photos"


def test_store_errors_name_the_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    (tmp_path / "b").mkdir()
    with pytest.raises(ObjectNotFound) as err:
        store.get("b", "images/a.jpg")
    assert str(tmp_path.resolve() / "b/images/a.jpg") in str(err.value)
    (tmp_path / "b" / "images").write_text("a file where a folder would go")
    with pytest.raises(StorageError) as err2:
        store.put("b", "images/a.jpg", b"x", content_type="image/jpeg")
    assert str(tmp_path.resolve() / "b/images/a.jpg") in str(err2.value)
    assert "s3://" not in str(err.value) + str(err2.value)


def test_s3_objects_keep_their_s3_names() -> None:
    assert object_name(object(), "photos", "images/a.jpg") == "s3://photos/images/a.jpg"


def test_backfill_names_the_failed_file(bucket: Path) -> None:
    r = run("backfill", str(bucket), "--workers", "1", "--no-progress")
    assert r.returncode == 1
    assert f"error: {bucket / 'images/broken.jpg'}: " in r.stderr
    assert "s3://" not in r.stdout + r.stderr


def test_sync_dry_run_names_the_files_it_would_write(bucket: Path) -> None:
    r = run("sync", str(bucket), "--workers", "1", "--dry-run")
    out = bucket.parent / "photos-output"
    assert f"would render {out / 'large/images/ok.jpg.jpg'}" in r.stdout, r.stdout
    assert "s3://" not in r.stdout + r.stderr


def test_convert_names_what_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(jpeg(300, 200))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "large").write_text("a file where a folder would go")
    r = run("convert", str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out"))
    assert r.returncode == 1
    assert str(tmp_path.resolve() / "out/large/a.jpg.jpg") in r.stderr
    assert "s3://" not in r.stderr


def test_watch_lines_name_the_files(bucket: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "thumbsmith", "watch", str(bucket), "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    # A thread reads every line as it comes: select() on a buffered pipe misses lines
    # that already sit in Python's buffer, which made this test wait on lines it had.
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()

    def saw(text: str) -> bool:
        return any(text in line for line in list(lines))

    try:
        assert wait_for(lambda: saw("watching "), 60), lines
        (bucket / "images" / "new.jpg").write_bytes(jpeg(300, 200))
        assert wait_for(lambda: saw("new.jpg"), 60), lines
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    assert f"written: {bucket / 'images/new.jpg'}\n" in lines, lines
    assert not [line for line in lines if "s3://" in line]
