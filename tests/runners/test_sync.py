"""``thumbsmith sync``: render what is missing, delete what thumbsmith wrote for sources
that are gone, and nothing else. On a real S3 server (SeaweedFS), moto and local folders."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from support.aws import Backend, make_buckets
from thumbsmith import cli
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.runners.bootstrap import s3_store
from thumbsmith.runners.sync import sync
from thumbsmith.runners.target import parse_target
from thumbsmith.service.ports import object_name
from thumbsmith.service.renditions import META_SOURCE_KEY
from thumbsmith.settings import Settings

RENDITIONS = ("large", "thumb")


@pytest.fixture
def small(settings: Settings) -> Settings:
    return settings.replace(renditions="large=32,thumb=8")


def jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (seed % 256, 80, 120)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def outputs(store: Any, bucket: str) -> set[str]:
    return {i.key for i in store.list(bucket)}


def _scenario(store: Any, bucket: str, settings: Settings, target: str) -> None:
    keys = [f"images/{i:02d} ü+.jpg" for i in range(50)]
    for i, key in enumerate(keys):
        store.put(bucket, key, jpeg(i), content_type="image/jpeg")
    out = f"{bucket}-output"
    # Foreign objects in the output bucket (no thumbsmith metadata), one at a key that
    # looks like the rendition of a source that does not exist: a sync that guessed from
    # key shapes would delete it.
    store.put(out, "large/images/old upload.jpg.jpg", b"not ours", content_type="image/jpeg")
    store.put(out, "notes/readme.txt", b"mine", content_type="text/plain")

    first = sync(parse_target(target), settings, workers=2)
    assert first.rendered == {"written": 50} and not first.deleted and not first.failures
    made = outputs(store, out)
    assert len(made) == (len(RENDITIONS) + 1) * 50 + 2  # renditions, a manifest, 2 foreign
    assert {f"manifest/{k}.json" for k in keys} <= made

    gone = keys[:10]
    for key in gone:
        store.delete(bucket, key)
    dry = sync(parse_target(target), settings, workers=2, dry_run=True)
    assert outputs(store, out) == made  # a dry run changes nothing
    expected = {f"{r}/{k}.jpg" for k in gone for r in RENDITIONS}
    expected |= {f"manifest/{k}.json" for k in gone}
    # Named as the store names them: s3://BUCKET-output/KEY, or ROOT/photos-output/KEY.
    head = object_name(store, out, "")

    def keys_of(names: list[str]) -> set[str]:
        return {n.removeprefix(head) for n in names}

    assert keys_of(dry.deleted) == expected

    second = sync(parse_target(target), settings, workers=2)
    assert keys_of(second.deleted) == expected
    assert outputs(store, out) == made - expected
    assert store.get(out, "large/images/old upload.jpg.jpg")[0] == b"not ours"
    assert second.foreign == 2 and not second.failures

    third = sync(parse_target(target), settings, workers=2)
    assert third.rendered == {"skipped": 40} and not third.deleted  # nothing to do


@pytest.mark.parametrize("backend", ["seaweedfs"], indirect=True)
def test_sync_on_a_real_s3_server(backend: Backend, name: str, small: Settings) -> None:
    make_buckets(backend.s3, name)
    _scenario(s3_store(small), name, small, f"s3://{name}/images/")


def test_sync_on_local_folders(tmp_path: Path, small: Settings) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos-output").mkdir()
    _scenario(LocalStore(tmp_path), "photos", small, str(tmp_path / "photos"))


def test_sync_never_judges_sources_outside_its_prefix(s3: Any, name: str, small: Settings) -> None:
    make_buckets(s3, name)
    store = s3_store(small)
    for key in ("images/a/1.jpg", "images/b/2.jpg"):
        store.put(name, key, jpeg(1), content_type="image/jpeg")
    assert sync(parse_target(f"s3://{name}/images/"), small, workers=1).rendered == {"written": 2}
    store.delete(name, "images/b/2.jpg")
    only_a = sync(parse_target(f"s3://{name}/images/a/"), small, workers=1)
    assert not only_a.deleted  # images/b/ is not this run's to judge
    assert len(outputs(store, f"{name}-output")) == 2 * (len(RENDITIONS) + 1)


def test_sync_cli_prints_a_summary(
    s3: Any, name: str, small: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    make_buckets(s3, name)
    s3.put_object(Bucket=name, Key="images/a.jpg", Body=jpeg(2))
    s3.put_object(
        Bucket=f"{name}-output",
        Key="thumb/images/gone.jpg.jpg",
        Body=b"x",
        Metadata={META_SOURCE_KEY: "images/gone.jpg"},
    )
    argv = ["--renditions", "large=32,thumb=8", "sync", f"s3://{name}/images/", "--workers", "1"]
    assert cli.main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would render s3://{name}-output/large/images/a.jpg.jpg" in out
    assert f"would delete s3://{name}-output/thumb/images/gone.jpg.jpg" in out
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert f"deleted s3://{name}-output/thumb/images/gone.jpg.jpg" in out
    assert "1 source(s): 1 written; deleted 1 orphaned object(s)" in out


def test_dry_run_counts_the_manifests_it_would_rewrite(
    tmp_path: Path,
    small: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Renditions current but manifests not (a new public_base_url changes every URL in
    them; one manifest deleted): the dry run says which manifests the run rewrites."""
    store = LocalStore(tmp_path)
    (tmp_path / "photos").mkdir()
    for i in range(3):
        store.put("photos", f"images/{i}.jpg", jpeg(i), content_type="image/jpeg")
    target = str(tmp_path / "photos")
    assert sync(parse_target(target), small, workers=1).rendered == {"written": 3}
    store.delete("photos-output", "manifest/images/0.jpg.json")

    dry = sync(parse_target(target), small, workers=1, dry_run=True)
    assert dry.would_render == []
    assert [Path(m).name for m in dry.would_publish] == ["0.jpg.json"]
    assert "0 rendition(s) and 1 manifest(s) to write" in dry.line()

    moved = small.replace(public_base_url="https://img.example.com/")
    argv = ["--renditions", "large=32,thumb=8", "sync", target, "--dry-run"]
    monkeypatch.setenv("THUMBSMITH_PUBLIC_BASE_URL", "https://img.example.com/")
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    out_dir = tmp_path / "photos-output"
    assert all(f"would write {out_dir}/manifest/images/{i}.jpg.json" in out for i in range(3))
    assert "3 source(s): 0 rendition(s) and 3 manifest(s) to write;" in out
    assert "would render" not in out
    before = {p: p.stat().st_mtime_ns for p in out_dir.rglob("*.jpg")}
    real = sync(parse_target(target), moved, workers=1)
    assert real.rendered == {"written": 3}  # the manifests, as the dry run said
    assert {p: p.stat().st_mtime_ns for p in out_dir.rglob("*.jpg")} == before
    again = sync(parse_target(target), moved, workers=1, dry_run=True)
    assert "0 rendition(s) and 0 manifest(s) to write" in again.line()
