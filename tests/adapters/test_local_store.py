from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from thumbsmith.adapters.storage.local import META_DIR, LocalStore
from thumbsmith.errors import BucketNotFound, ObjectNotFound, UnsafeKey


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    (tmp_path / "photos").mkdir()
    return LocalStore(tmp_path)


def test_put_get_head_list_delete(store: LocalStore, tmp_path: Path) -> None:
    info = store.put(
        "photos",
        "images/a b+c/é.jpg",
        b"abc",
        content_type="image/jpeg",
        metadata={"thumbsmith-source-etag": "e1"},
    )
    assert info.etag == "900150983cd24fb0d6963f7d28e17f72"  # md5, as S3 computes it
    assert (tmp_path / "photos" / "images" / "a b+c" / "é.jpg").read_bytes() == b"abc"
    data, got = store.get("photos", "images/a b+c/é.jpg")
    assert data == b"abc" and got.metadata == {"thumbsmith-source-etag": "e1"}
    assert store.head("photos", "images/a b+c/é.jpg").content_type == "image/jpeg"
    assert [o.key for o in store.list("photos", "images/")] == ["images/a b+c/é.jpg"]
    assert list(store.list("photos", "other/")) == []
    store.delete("photos", "images/a b+c/é.jpg")
    with pytest.raises(ObjectNotFound):
        store.head("photos", "images/a b+c/é.jpg")
    store.delete("photos", "images/a b+c/é.jpg")  # deleting twice is fine, as on S3


def test_metadata_lives_outside_every_bucket(store: LocalStore, tmp_path: Path) -> None:
    store.put("photos", "k.jpg", b"x", content_type="image/jpeg", metadata={"a": "b"})
    assert [o.key for o in store.list("photos")] == ["k.jpg"]
    assert (tmp_path / META_DIR / "photos" / "k.jpg.json").is_file()


def test_writes_are_atomic_and_leave_no_temp_files(store: LocalStore, tmp_path: Path) -> None:
    store.put("photos", "images/x.jpg", b"old", content_type="image/jpeg")
    real_replace = Path.replace

    def crash(self: Path, target: Path) -> Path:  # the process dies between write and rename
        raise OSError(28, "No space left on device")

    Path.replace = crash  # type: ignore[method-assign,assignment]
    try:
        with pytest.raises(Exception, match="No space left"):
            store.put("photos", "images/x.jpg", b"new", content_type="image/jpeg")
    finally:
        Path.replace = real_replace  # type: ignore[method-assign]
    assert (tmp_path / "photos" / "images" / "x.jpg").read_bytes() == b"old"
    assert os.listdir(tmp_path / "photos" / "images") == ["x.jpg"]


@pytest.mark.parametrize(
    "key",
    [
        "../escape.jpg",
        "images/../../escape.jpg",
        "/etc/passwd",
        "images/\0.jpg",
        "",
        "a//b",
        "./a",
        "images/" + "x" * 256,
    ],
)
def test_keys_that_escape_are_rejected(store: LocalStore, key: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafeKey):
        store.put("photos", key, b"x", content_type="image/jpeg")
    with pytest.raises(UnsafeKey):
        store.get("photos", key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_symlink_out_of_bucket_is_rejected(store: LocalStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "photos" / "link").symlink_to(outside)
    with pytest.raises(UnsafeKey):
        store.put("photos", "link/x.jpg", b"x", content_type="image/jpeg")
    assert list(outside.iterdir()) == []


def test_unicode_normalisation_variants_do_not_collide(store: LocalStore) -> None:
    store.put("photos", "images/\u00e9.jpg", b"nfc", content_type="image/jpeg")
    store.put("photos", "images/e\u0301.jpg", b"nfd", content_type="image/jpeg")
    assert store.get("photos", "images/\u00e9.jpg")[0] == b"nfc"
    assert store.get("photos", "images/e\u0301.jpg")[0] == b"nfd"


def test_missing_bucket_and_object(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(BucketNotFound, match="does not exist"):
        store.get("nope", "a.jpg")
    (tmp_path / "b").mkdir()
    with pytest.raises(ObjectNotFound, match=str(tmp_path.resolve() / "b" / "a.jpg")):
        store.get("b", "a.jpg")
    with pytest.raises(UnsafeKey):
        store.get("../b", "a.jpg")


def test_etags_follow_every_change_of_the_file(tmp_path: Path) -> None:
    """The ETag is the MD5 of the bytes (as S3's), cached per file version: a file
    replaced, or rewritten in place with the same size, gets its new bytes' ETag."""
    store = LocalStore(tmp_path)
    (tmp_path / "b").mkdir()
    path = tmp_path / "b" / "a.bin"
    for i, content in enumerate((b"one", b"two", b"six")):
        if i == 1:
            path.write_bytes(content)  # in place: same inode, same size
            os.utime(path, ns=(1, 10**18 + i))
        else:
            store.put("b", "a.bin", content, content_type="application/octet-stream")
        md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
        assert store.head("b", "a.bin").etag == md5
        assert store.get("b", "a.bin")[1].etag == md5
