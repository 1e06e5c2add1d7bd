"""A permanently bad source fails one cron run, not every one: ``sync`` and ``backfill``
record it, later runs skip it without downloading it ("known bad") and exit 0 when
nothing new failed, ``--retry-failed`` tries it again. On local folders and on S3
(moto, the downloads counted by a proxy in front of it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.aws import SlowProxy, make_buckets
from support.helpers import jpeg
from thumbsmith import cli
from thumbsmith.runners.backfill import backfill
from thumbsmith.runners.sync import sync
from thumbsmith.runners.target import parse_target
from thumbsmith.service.failures import Remember
from thumbsmith.settings import Settings

BAD = "images/bad.jpg"
KNOWN_BAD = "1 known bad (skipped; --retry-failed to try again)"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(["--renditions", "large=64,thumb=16", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("command", ["sync", "backfill"])
def test_local_cron_runs_skip_what_failed_for_good(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    images = tmp_path / "photos" / "images"
    images.mkdir(parents=True)
    (images / "good.jpg").write_bytes(jpeg(320, 240))
    (images / "bad.jpg").write_bytes(jpeg(320, 240)[:700])
    argv = [command, str(tmp_path / "photos"), "--workers", "1"]
    argv += ["--no-progress"] if command == "backfill" else []
    record = tmp_path / "photos-output" / "failed" / "images" / "bad.jpg.json"

    status, out, err = run(capsys, *argv)
    assert status == 1 and f"{images / 'bad.jpg'}" in err and "--retry-failed" in err
    assert record.is_file()

    status, out, err = run(capsys, *argv)  # the next cron run
    assert status == 0, err
    assert KNOWN_BAD in out and "1 skipped" in out and not err

    status, out, err = run(capsys, *argv, "--retry-failed")
    assert status == 1 and "bad.jpg" in err

    (images / "bad.jpg").write_bytes(jpeg(200, 100))  # fixed: rendered, record gone
    status, out, err = run(capsys, *argv)
    assert status == 0 and "1 written" in out and "known bad" not in out
    assert not record.exists()


def test_dry_run_counts_the_known_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = tmp_path / "photos" / "images"
    images.mkdir(parents=True)
    (images / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    assert run(capsys, "sync", str(tmp_path / "photos"), "--workers", "1")[0] == 1
    status, out, _ = run(capsys, "sync", str(tmp_path / "photos"), "--dry-run")
    assert status == 0
    assert f"would skip {images / 'bad.jpg'} (known bad)" in out
    assert f"0 rendition(s) and 0 manifest(s) to write, {KNOWN_BAD}" in out
    status, out, _ = run(capsys, "sync", str(tmp_path / "photos"), "--dry-run", "--retry-failed")
    assert "2 rendition(s) and 1 manifest(s) to write;" in out


def test_s3_second_run_downloads_nothing_of_a_known_bad_source(
    moto_url: str, s3: Any, name: str, settings: Settings
) -> None:
    make_buckets(s3, name)
    s3.put_object(Bucket=name, Key="images/good.jpg", Body=jpeg(320, 240))
    s3.put_object(Bucket=name, Key=BAD, Body=jpeg(320, 240)[:700])
    small = settings.replace(renditions="large=64,thumb=16")
    target = parse_target(f"s3://{name}/images/")
    source_path = f"/{name}/{BAD}"

    with SlowProxy(moto_url, marker="nothing is slow", delay=0) as proxy:
        through = small.replace(s3_endpoint_url=proxy.url)
        first = sync(target, through, workers=1)
        assert first.failed == 1 and first.rendered == {"written": 1, "permanent": 1}
        assert proxy.gets(source_path) == 1
        assert s3.head_object(Bucket=f"{name}-output", Key=f"failed/{BAD}.json")

        second = sync(target, through, workers=1)
        assert second.failed == 0 and second.rendered == {"skipped": 1, "known bad": 1}
        assert proxy.gets(source_path) == 1, "the known bad source was downloaded again"
        assert second.kept >= 1 and not second.deleted  # its record is not an orphan

        retried = backfill(target, through, workers=1, remember=Remember.RETRY)
        assert retried.failed == 1 and proxy.gets(source_path) == 2

    s3.delete_object(Bucket=name, Key=BAD)
    gone = sync(target, small, workers=1)
    assert [d.rsplit("/", 1)[-1] for d in gone.deleted] == ["bad.jpg.json"]
