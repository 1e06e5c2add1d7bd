"""process(): the one entry point every mode shares, on a real local store and real core."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from support.helpers import created, jpeg, photos_store, proc, size_of
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.errors import ConfigError, CorruptImage, ImageTooLarge, UnsupportedFormat
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.renditions import META_SOURCE_ETAG


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return photos_store(tmp_path)


def test_writes_every_rendition_with_right_size_and_no_exif(store: LocalStore) -> None:
    store.put(
        "photos", "images/cat.jpg", jpeg(1600, 1200, orientation=6), content_type="image/jpeg"
    )
    out = proc(store).process(created("images/cat.jpg"))
    assert out.status == "written"
    assert sorted(out.written) == [
        "s3://photos-output/large/images/cat.jpg.jpg",
        "s3://photos-output/medium/images/cat.jpg.jpg",
        "s3://photos-output/thumb/images/cat.jpg.jpg",
    ]
    expected = {"large": (960, 1280), "medium": (480, 640), "thumb": (120, 160)}  # upright
    for name, size in expected.items():
        data, info = store.get("photos-output", f"{name}/images/cat.jpg.jpg")
        assert size_of(data) == size
        assert info.content_type == "image/jpeg"
        assert info.metadata[META_SOURCE_ETAG] == store.head("photos", "images/cat.jpg").etag
        with Image.open(io.BytesIO(data)) as img:
            assert not img.getexif(), "EXIF (and its GPS) must be stripped"


def test_second_run_rewrites_nothing(store: LocalStore, tmp_path: Path) -> None:
    store.put("photos", "images/a.jpg", jpeg(), content_type="image/jpeg")
    p = proc(store)
    assert p.process(created("images/a.jpg")).status == "written"
    files = sorted((tmp_path / "photos-output").rglob("*.jpg"))
    before = {f: f.stat().st_mtime_ns for f in files}
    out = p.process(created("images/a.jpg"))
    assert out.status == "skipped" and out.written == []
    assert {f: f.stat().st_mtime_ns for f in files} == before


def test_changed_source_or_options_rerender(store: LocalStore) -> None:
    store.put("photos", "images/a.jpg", jpeg(seed=1), content_type="image/jpeg")
    assert proc(store).process(created("images/a.jpg")).status == "written"
    store.put("photos", "images/a.jpg", jpeg(seed=2), content_type="image/jpeg")
    assert len(proc(store).process(created("images/a.jpg")).written) == 3
    assert len(proc(store, quality="60").process(created("images/a.jpg")).written) == 3
    # Only the rendition whose box changed is rewritten.
    out = proc(store, quality="60", renditions="large=1280,medium=500,thumb=160").process(
        created("images/a.jpg")
    )
    assert out.written == ["s3://photos-output/medium/images/a.jpg.jpg"]


def test_removed_deletes_renditions_only_when_source_is_gone(store: LocalStore) -> None:
    store.put("photos", "images/a.jpg", jpeg(), content_type="image/jpeg")
    p = proc(store)
    p.process(created("images/a.jpg"))
    removed = ObjectEvent("photos", "images/a.jpg", EventKind.REMOVED)
    assert p.process(removed).status == "ignored"  # late removal event, object is back
    assert store.head("photos-output", "large/images/a.jpg.jpg")
    store.delete("photos", "images/a.jpg")
    out = p.process(removed)
    assert out.status == "deleted" and len(out.deleted) == 3
    assert list(store.list("photos-output")) == []


def test_corrupt_image_is_a_permanent_error_naming_the_object(store: LocalStore) -> None:
    good = jpeg()
    store.put("photos", "images/bad.jpg", good[: len(good) // 3], content_type="image/jpeg")
    with pytest.raises(CorruptImage) as err:
        proc(store).process(created("images/bad.jpg"))
    assert f"{store.root / 'photos/images/bad.jpg'}: " in str(err.value)
    assert err.value.permanent
    assert not (store.root / "photos-output").exists() or not list(store.list("photos-output"))


def test_text_named_jpg_is_unsupported(store: LocalStore) -> None:
    store.put("photos", "images/notes.jpg", b"<?xml version='1.0'?><x/>", content_type="image/jpeg")
    with pytest.raises(UnsupportedFormat, match=r"notes\.jpg"):
        proc(store).process(created("images/notes.jpg"))


def test_size_limit_is_checked_before_download(store: LocalStore) -> None:
    store.put("photos", "images/a.jpg", jpeg(), content_type="image/jpeg")
    with pytest.raises(ImageTooLarge, match="THUMBSMITH_MAX_BYTES"):
        proc(store, max_bytes="1000").process(created("images/a.jpg"))


def test_outside_prefix_and_missing_source_are_ignored(store: LocalStore) -> None:
    store.put("photos", "other/a.jpg", jpeg(), content_type="image/jpeg")
    assert proc(store).process(created("other/a.jpg")).status == "ignored"
    assert proc(store).process(created("images/gone.jpg")).status == "ignored"


def test_recursion_guard_stops_processing(store: LocalStore) -> None:
    store.put("photos", "images/a.jpg", jpeg(), content_type="image/jpeg")
    with pytest.raises(ConfigError, match="recursion guard"):
        proc(store, output_bucket="photos", key_template="images/{rendition}/{key}.{ext}").process(
            created("images/a.jpg")
        )


def test_a_replaced_source_drops_the_ad_hoc_renditions_of_its_old_bytes(
    store: LocalStore,
) -> None:
    """The origin's ``_ondemand/{key}/`` variants are renditions of one source version:
    when the source is replaced, those of the old bytes go, those of the new stay."""
    store.put("photos", "images/a.jpg", jpeg(seed=1), content_type="image/jpeg")
    assert proc(store).process(created("images/a.jpg")).status == "written"
    old = store.head("photos", "images/a.jpg").etag
    store.put("photos", "images/a.jpg", jpeg(seed=2), content_type="image/jpeg")
    new = store.head("photos", "images/a.jpg").etag
    variants = {"w100-inside.jpg": old, "w200-inside.jpg": new}
    for name, etag in variants.items():
        store.put("photos-output", f"_ondemand/images/a.jpg/{name}", jpeg(10, 10),
                  content_type="image/jpeg", metadata={META_SOURCE_ETAG: etag})  # fmt: skip
    # Another source whose key starts the same way keeps its own.
    store.put("photos-output", "_ondemand/images/a.jpg/b.jpg/w100-inside.jpg", jpeg(10, 10),
              content_type="image/jpeg", metadata={META_SOURCE_ETAG: old})  # fmt: skip
    out = proc(store).process(created("images/a.jpg"))
    assert out.status == "written"
    assert out.deleted == ["s3://photos-output/_ondemand/images/a.jpg/w100-inside.jpg"]
    left = {i.key for i in store.list("photos-output", "_ondemand/")}
    assert left == {
        "_ondemand/images/a.jpg/w200-inside.jpg",
        "_ondemand/images/a.jpg/b.jpg/w100-inside.jpg",
    }
