"""The CLI as a user runs it: real processes, real files, real exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.helpers import corpus_file, jpeg, size_of
from thumbsmith.adapters.storage.local import META_DIR

ENV = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}


def run(*args: str, timeout: float = 120, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[no-any-return]
        [sys.executable, "-m", "thumbsmith", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        check=False,
        **kw,  # type: ignore[call-overload]
    )


def test_config_lists_every_setting_with_source() -> None:
    r = run("config")
    assert r.returncode == 0, r.stderr
    assert "renditions = 'large=1280,medium=640,thumb=160'" in r.stdout
    assert "[default; THUMBSMITH_QUALITY]" in r.stdout


def test_bad_setting_stops_startup_naming_it() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "thumbsmith", "config"],
        capture_output=True,
        text=True,
        env={**ENV, "THUMBSMITH_QUALITY": "200"},
        check=False,
    )
    assert r.returncode == 2
    assert "'quality'" in r.stderr and "THUMBSMITH_QUALITY" in r.stderr


def test_convert_writes_renditions_and_reports_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "photo.jpg"
    good.write_bytes(jpeg(1000, 500))
    bad = tmp_path / "notes.jpg"
    bad.write_text("just text")
    r = run("convert", str(good), str(bad), "-o", str(tmp_path / "out"))
    assert r.returncode == 1
    assert size_of((tmp_path / "out/large/photo.jpg.jpg").read_bytes()) == (1000, 500)
    assert size_of((tmp_path / "out/thumb/photo.jpg.jpg").read_bytes()) == (160, 80)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "notes.jpg" in errors[0]


def _bucket(tmp_path: Path, count: int) -> Path:
    images = tmp_path / "photos" / "images"
    images.mkdir(parents=True)
    for i in range(count):
        (images / f"img {i:03d}.jpg").write_bytes(jpeg(640, 480, seed=i))
    return tmp_path / "photos"


def test_backfill_reports_failures_and_goes_on(tmp_path: Path) -> None:
    bucket = _bucket(tmp_path, 3)
    (bucket / "images" / "broken.jpg").write_bytes(jpeg()[:500])
    (bucket / "elsewhere.jpg").write_bytes(jpeg())
    r = run("backfill", str(bucket), "--workers", "2", "--no-progress")
    assert r.returncode == 1
    assert "4 objects: 1 permanent, 3 written" in r.stdout
    assert f"{tmp_path.resolve() / 'photos/images/broken.jpg'}: " in r.stderr
    out = tmp_path / "photos-output"
    assert len(list(out.rglob("*.jpg"))) == 9
    # No rendition of a failed source: only the record that the next run reads.
    assert [p.relative_to(out) for p in out.rglob("*broken*")] == [
        Path("failed/images/broken.jpg.json")
    ]
    r2 = run("backfill", str(bucket), "--no-progress")
    assert "1 known bad (skipped; --retry-failed to try again), 3 skipped" in r2.stdout
    assert r2.returncode == 0


def test_backfill_killed_midway_resumes_without_rewriting(tmp_path: Path) -> None:
    """200 objects; kill -9 partway; the rerun completes the set and rewrites nothing done."""
    bucket = _bucket(tmp_path, 200)
    out = tmp_path / "photos-output"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thumbsmith",
            "backfill",
            str(bucket),
            "--workers",
            "2",
            "--no-progress",
        ],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.rglob("*.jpg"))) < 150:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = list(out.rglob("*.jpg"))
    assert 150 <= len(partial) < 600, "the kill must land mid-run for this test to mean anything"
    meta_root = tmp_path / META_DIR / "photos-output"
    # A rendition whose metadata record landed is finished and must be left alone.
    finished = {
        p: p.stat().st_mtime_ns
        for p in partial
        if (meta_root / p.relative_to(out)).with_name(p.name + ".json").is_file()
    }
    assert len(finished) >= len(partial) - 8

    r = run("backfill", str(bucket), "--workers", "2", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert len(list(out.rglob("*.jpg"))) == 600
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    for name, size in (("large", (640, 480)), ("thumb", (160, 120))):
        assert size_of((out / name / "images" / "img 199.jpg.jpg").read_bytes()) == size


def test_backfill_missing_bucket_is_a_clear_error(tmp_path: Path) -> None:
    r = run("backfill", str(tmp_path / "nope"))
    assert r.returncode == 1
    assert "does not exist" in r.stderr and "nope" in r.stderr


def test_convert_corpus_eps_through_ghostscript(tmp_path: Path) -> None:
    eps = corpus_file("mei__circle.eps")
    r = run("convert", str(eps), "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    w, h = size_of((tmp_path / "large" / "mei__circle.eps.jpg").read_bytes())
    assert max(w, h) <= 1280 and abs(w / h - 540 / 720) < 0.02


@pytest.mark.parametrize("script", ["scripts/test", "scripts/demo", ".ci/run", "scripts/bootstrap"])
def test_scripts_are_valid_bash(script: str) -> None:
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run(["bash", "-n", str(root / script)], check=False).returncode == 0


def test_convert_keeps_same_named_files_apart_and_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(jpeg(900, 600, seed=1))
    (tmp_path / "b" / "x.jpg").write_bytes(jpeg(600, 900, seed=2))
    out = tmp_path / "out"
    r = run("convert", str(tmp_path / "a" / "x.jpg"), str(tmp_path / "b" / "x.jpg"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    # Keys are the paths relative to the common parent: neither overwrites the other.
    assert size_of((out / "large" / "a" / "x.jpg.jpg").read_bytes()) == (900, 600)
    assert size_of((out / "large" / "b" / "x.jpg.jpg").read_bytes()) == (600, 900)
    assert len(list(out.rglob("*.jpg"))) == 6
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")}
    again = run(
        "convert", str(tmp_path / "a" / "x.jpg"), str(tmp_path / "b" / "x.jpg"), "-o", str(out)
    )
    assert again.returncode == 0, again.stderr
    assert "skipped" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")} == mtimes


def test_convert_single_file_key_is_its_name(tmp_path: Path) -> None:
    src = tmp_path / "photo.jpg"
    src.write_bytes(jpeg(300, 200))
    r = run("convert", str(src), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "thumb" / "photo.jpg.jpg").is_file()
    assert f"{tmp_path / 'out' / 'thumb' / 'photo.jpg.jpg'}  160x107" in r.stdout
