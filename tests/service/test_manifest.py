"""The manifest: what it says agrees with what was written, it is written last and removed
first, and reruns, old rendition sets and partial re-renders keep it right."""

from __future__ import annotations

import builtins
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from PIL import Image

from support.helpers import jpeg
from thumbsmith import settings as S
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.errors import ConfigError
from thumbsmith.runners.bootstrap import processor
from thumbsmith.service import manifest
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.headers import content_disposition, rendition_filename
from thumbsmith.service.ports import ObjectInfo
from thumbsmith.service.renditions import (
    META_FINGERPRINT,
    META_SOURCE_ETAG,
    META_SOURCE_KEY,
    StoredRendition,
)

MANIFEST_KEY = "manifest/images/cat.jpg.json"
RENDITION_KEYS = [f"{n}/images/cat.jpg.jpg" for n in ("large", "medium", "thumb")]


class Recording:
    """A store that records every write and delete, in order, and forwards it."""

    def __init__(self, inner: LocalStore) -> None:
        self.inner = inner
        self.log: list[tuple[str, str]] = []

    def get(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        return self.inner.get(bucket, key)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        return self.inner.head(bucket, key)

    def put(self, bucket: str, key: str, data: bytes, **kw: Any) -> ObjectInfo:
        self.log.append(("put", key))
        return self.inner.put(bucket, key, data, **kw)

    def delete(self, bucket: str, key: str) -> None:
        self.log.append(("delete", key))
        self.inner.delete(bucket, key)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(bucket, prefix)

    def writes(self) -> builtins.list[tuple[str, str]]:
        out, self.log = self.log, []
        return out


@pytest.fixture
def store(tmp_path: Path) -> Recording:
    (tmp_path / "photos").mkdir()
    return Recording(LocalStore(tmp_path))


def run(store: Recording, kind: EventKind = EventKind.CREATED, **env: str) -> Any:
    settings = S.load(env={f"THUMBSMITH_{k.upper()}": v for k, v in env.items()})
    return processor(store, settings).process(ObjectEvent("photos", "images/cat.jpg", kind))


def upload(store: Recording, data: bytes | None = None, **meta: str) -> None:
    store.inner.put(
        "photos", "images/cat.jpg", data or jpeg(1600, 1200), content_type="image/jpeg",
        metadata=meta,
    )  # fmt: skip


def read_manifest(store: Recording) -> dict[str, Any]:
    data, _ = store.get("photos-output", MANIFEST_KEY)
    body: dict[str, Any] = json.loads(data)
    return body


def test_manifest_agrees_with_the_objects_written_and_validates(store: Recording) -> None:
    upload(store, jpeg(1600, 1200, orientation=6))
    out = run(store, public_base_url="https://cdn.example.com/")
    m = read_manifest(store)
    Draft202012Validator(manifest.schema()).validate(m)
    assert m["source"] | {"etag": ""} == {
        "bucket": "photos",
        "key": "images/cat.jpg",
        "etag": "",
        "bytes": store.head("photos", "images/cat.jpg").size,
        "content_type": "image/jpeg",
        "format": "jpeg",
        "width": 1200,  # upright: EXIF orientation 6 turns it
        "height": 1600,
        "has_alpha": False,
        "frames": 1,
    }
    assert m["source"]["etag"] == store.head("photos", "images/cat.jpg").etag
    assert sorted(r["key"] for r in m["renditions"]) == sorted(RENDITION_KEYS)
    assert sorted(w.key for w in out.renditions) == sorted(RENDITION_KEYS)
    for r in m["renditions"]:
        data, info = store.get("photos-output", r["key"])
        with Image.open(io.BytesIO(data)) as img:
            assert (img.format, img.size) == ("JPEG", (r["width"], r["height"]))
        assert (r["bytes"], r["etag"], r["content_type"]) == (len(data), info.etag, "image/jpeg")
        assert r["url"] == "https://cdn.example.com/" + r["key"]
    assert m["srcset"] == {
        "jpeg": "https://cdn.example.com/thumb/images/cat.jpg.jpg 120w, "
        "https://cdn.example.com/medium/images/cat.jpg.jpg 480w, "
        "https://cdn.example.com/large/images/cat.jpg.jpg 960w"
    }
    assert m["next"]["src"] == "https://cdn.example.com/large/images/cat.jpg.jpg"
    assert (m["next"]["width"], m["next"]["height"]) == (960, 1280)
    assert m["next"]["blurDataURL"] == m["placeholder"]["data_uri"]
    assert (m["next"]["blurWidth"], m["next"]["blurHeight"]) == (12, 16)
    assert m["astro"] == {
        "src": m["next"]["src"], "width": 960, "height": 1280, "format": "jpeg",
    }  # fmt: skip
    assert [e["width"] for e in m["eleventy"]["jpeg"]] == [120, 480, 960]
    assert [e["size"] for e in m["eleventy"]["jpeg"]] == [
        store.head("photos-output", k).size for k in reversed(RENDITION_KEYS)
    ]


def test_manifest_is_written_last_with_thumbsmith_metadata(store: Recording) -> None:
    upload(store)
    run(store)
    writes = store.writes()
    assert writes[-1] == ("put", MANIFEST_KEY)
    assert sorted(writes[:-1]) == sorted(("put", k) for k in RENDITION_KEYS)
    info = store.head("photos-output", MANIFEST_KEY)
    assert info.content_type == "application/json"
    assert info.metadata[META_SOURCE_ETAG] == store.head("photos", "images/cat.jpg").etag
    assert info.metadata[META_SOURCE_KEY] == "images/cat.jpg"
    assert info.metadata[META_FINGERPRINT]


def test_rerun_rewrites_neither_renditions_nor_manifest(store: Recording) -> None:
    upload(store)
    run(store)
    store.writes()
    out = run(store)
    assert out.status == "skipped"
    assert store.writes() == []


def test_old_rendition_set_gets_its_manifest_and_nothing_else(store: Recording) -> None:
    """Renditions made before manifests existed (or a crash before the manifest)."""
    upload(store)
    run(store)
    before = {k: store.head("photos-output", k).etag for k in RENDITION_KEYS}
    store.inner.delete("photos-output", MANIFEST_KEY)
    store.writes()
    out = run(store)
    assert store.writes() == [("put", MANIFEST_KEY)]
    assert out.renditions == []
    m = read_manifest(store)
    assert {r["key"]: r["etag"] for r in m["renditions"]} == before


def test_changed_source_withdraws_the_manifest_before_rewriting(store: Recording) -> None:
    upload(store, jpeg(seed=1))
    run(store)
    upload(store, jpeg(seed=2))
    store.writes()
    run(store)
    writes = store.writes()
    assert writes[0] == ("delete", MANIFEST_KEY)
    assert writes[-1] == ("put", MANIFEST_KEY)
    assert read_manifest(store)["source"]["etag"] == store.head("photos", "images/cat.jpg").etag


def test_changed_box_rewrites_that_rendition_and_the_manifest(store: Recording) -> None:
    upload(store)
    run(store)
    store.writes()
    run(store, renditions="large=1280,medium=500,thumb=160")
    assert store.writes() == [
        ("delete", MANIFEST_KEY),
        ("put", "medium/images/cat.jpg.jpg"),
        ("put", MANIFEST_KEY),
    ]
    m = read_manifest(store)
    medium = next(r for r in m["renditions"] if r["name"] == "medium")
    assert (medium["width"], medium["height"]) == (500, 375)
    for r in m["renditions"]:
        assert r["bytes"] == store.head("photos-output", r["key"]).size


def test_removal_deletes_the_manifest_first(store: Recording) -> None:
    upload(store)
    run(store)
    store.inner.delete("photos", "images/cat.jpg")
    store.writes()
    out = run(store, EventKind.REMOVED)
    assert out.status == "deleted"
    assert store.writes() == [
        ("delete", MANIFEST_KEY),
        *[("delete", k) for k in RENDITION_KEYS],
        ("delete", "failed/images/cat.jpg.json"),  # a failure record, had there been one
    ]
    assert list(store.inner.list("photos-output")) == []


def test_manifest_key_follows_the_template(store: Recording) -> None:
    upload(store)
    run(store, key_template="{key}/{rendition}.{ext}")
    assert store.head("photos-output", "images/cat.jpg/manifest.json")


def test_a_rendition_named_manifest_is_refused() -> None:
    with pytest.raises(ConfigError, match="'manifest' is reserved"):
        S.load(env={"THUMBSMITH_RENDITIONS": "large=1280,manifest=100"})


def test_renditions_carry_cache_control_file_name_and_allowed_metadata(
    store: Recording,
) -> None:
    upload(store, author="Ada", secret="do-not-copy")
    run(store, copy_metadata="author, licence", cache_control="public, max-age=60")
    for key in RENDITION_KEYS:
        info = store.head("photos-output", key)
        assert info.cache_control == "public, max-age=60"
        assert info.content_disposition == 'inline; filename="cat.jpg"'
        assert info.metadata["author"] == "Ada"
        assert "secret" not in info.metadata
    assert "author" not in store.head("photos-output", MANIFEST_KEY).metadata


@pytest.mark.parametrize(
    ("key", "ext", "header"),
    [
        ("images/cat.png", "webp", 'inline; filename="cat.webp"'),
        ("a/b/noext", "jpg", 'inline; filename="noext.jpg"'),
        ("x/.hidden.png", "avif", 'inline; filename="hidden.avif"'),
        ("x/Katze größe.png", "jpg", "inline; filename=\"Katze groe.jpg\"; "
         "filename*=UTF-8''Katze%20gr%C3%B6%C3%9Fe.jpg"),
        ("x/猫.heic", "png", "inline; filename=\"_.png\"; filename*=UTF-8''%E7%8C%AB.png"),
        ('x/evil"; a=b.png', "jpg", "inline; filename=\"evil__ a=b.jpg\"; "
         "filename*=UTF-8''evil%22%3B%20a%3Db.jpg"),
    ],
)  # fmt: skip
def test_content_disposition_is_ascii_with_the_real_name_in_filename_star(
    key: str, ext: str, header: str
) -> None:
    value = content_disposition(rendition_filename(key, ext))
    assert value == header
    assert value.isascii()


def test_copy_metadata_refuses_thumbsmith_names() -> None:
    with pytest.raises(ConfigError, match="copy_metadata"):
        S.load(env={"THUMBSMITH_COPY_METADATA": "thumbsmith-source-etag"})


# --- kill -9 between the last rendition and the manifest -------------------------------
CRASHER = """
import os, signal, sys
from thumbsmith import settings
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.runners.bootstrap import processor
from thumbsmith.service.events import EventKind, ObjectEvent

class DiesBeforeManifest(LocalStore):
    # Test-only: the process is killed the moment it would write the manifest.
    def put(self, bucket, key, data, **kw):
        if key.startswith("manifest/"):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().put(bucket, key, data, **kw)

store = DiesBeforeManifest(sys.argv[1])
processor(store, settings.load(env={})).process(
    ObjectEvent("photos", "images/cat.jpg", EventKind.CREATED)
)
"""


def test_killed_before_the_manifest_then_rerun_completes_the_set(
    store: Recording, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys

    upload(store)
    proc = subprocess.run(
        [sys.executable, "-c", CRASHER, str(tmp_path)], capture_output=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    out = tmp_path / "photos-output"
    assert not (out / MANIFEST_KEY).exists()
    done = {k: (out / k).stat().st_mtime_ns for k in RENDITION_KEYS}  # all three landed

    store.writes()
    run(store)
    assert store.writes() == [("put", MANIFEST_KEY)], "only the manifest was missing"
    assert {k: (out / k).stat().st_mtime_ns for k in RENDITION_KEYS} == done
    m = read_manifest(store)
    assert sorted(r["key"] for r in m["renditions"]) == sorted(RENDITION_KEYS)
    assert run(store).status == "skipped"


# --- the manifest over renditions with formats and fits (the rendition model's shape) ----
def test_srcsets_group_by_fit_and_front_ends_pick_a_format_they_can_show() -> None:
    from dataclasses import dataclass

    from thumbsmith.core.result import SourceFacts

    @dataclass(frozen=True)
    class Spec:  # a rendition spec with a fit mode, as the rendition model has it
        name: str
        width: int
        height: int
        fit: str = "inside"

    specs = [Spec("large", 1280, 1280), Spec("small", 320, 320), Spec("square", 160, 160, "cover")]

    def E(name: str, fmt: str, key: str, width: int, height: int, size: int) -> StoredRendition:
        return StoredRendition("photos-output", key, fmt, width, height, size, name)

    entries = [
        E("large", "avif", "large/a.png.avif", 1280, 960, 50_000),
        E("large", "webp", "large/a.png.webp", 1280, 960, 90_000),
        E("small", "avif", "small/a.png.avif", 320, 240, 9_000),
        E("small", "webp", "small/a.png.webp", 320, 240, 15_000),
        E("square", "webp", "square/a.png.webp", 160, 160, 4_000),
    ]
    m = manifest.build(
        manifest.SourceInfo("photos", "images/a b,c.png", "e" * 32, 10, "image/png"),
        SourceFacts("png", 2048, 1536, 1, True),
        entries,
        specs,  # type: ignore[arg-type]
        output_bucket="photos-output",
        manifest_key="manifest/a.png.json",
        placeholder=None,
        base_url="/",
    )
    Draft202012Validator(manifest.schema()).validate(m)
    assert m["srcset"] == {
        "avif": "/small/a.png.avif 320w, /large/a.png.avif 1280w",
        "webp": "/small/a.png.webp 320w, /large/a.png.webp 1280w",
    }
    assert m["srcsets"]["cover-1x1"] == {"webp": "/square/a.png.webp 160w"}
    assert m["next"] == {"src": "/large/a.png.webp", "width": 1280, "height": 960}  # alpha
    assert m["astro"]["format"] == "webp"  # Astro cannot say avif
    assert set(m["eleventy"]) == {"avif", "webp"}
    assert "placeholder" not in m


def test_urls_are_percent_encoded_so_srcset_candidates_stay_whole() -> None:
    assert manifest.url("https://cdn/", "large/a b,c/猫.jpg") == (
        "https://cdn/large/a%20b%2Cc/%E7%8C%AB.jpg"
    )
