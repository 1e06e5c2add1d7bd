"""THUMBSMITH_PUBLIC_BASE_URL is joined to each key with one '/', must be an absolute
http(s) URL, and a base that already ends in '/' keeps its manifests byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support.helpers import created, jpeg, photos_store, proc
from thumbsmith import settings as S
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.errors import ConfigError
from thumbsmith.service import manifest

MANIFEST_KEY = "manifest/images/cat.jpg.json"


def written(tmp_path: Path, base: str) -> tuple[dict[str, Any], bytes]:
    root = tmp_path / (base.replace("/", "_").replace(":", "") or "none")
    root.mkdir()
    store = photos_store(root)
    store.put("photos", "images/cat.jpg", jpeg(800, 600), content_type="image/jpeg")
    proc(store, public_base_url=base).process(created("images/cat.jpg"))
    data, _ = store.get("photos-output", MANIFEST_KEY)
    body: dict[str, Any] = json.loads(data)
    return body, data


@pytest.mark.parametrize(
    "base", ["https://cdn.example.com", "https://cdn.example.com/", "http://localhost:8000/m"]
)
def test_every_url_is_the_base_one_slash_and_the_key(tmp_path: Path, base: str) -> None:
    m, _ = written(tmp_path, base)
    prefix = base.rstrip("/") + "/"
    assert [r["url"] for r in m["renditions"]] == [prefix + r["key"] for r in m["renditions"]]
    assert m["next"]["src"] == prefix + "large/images/cat.jpg.jpg"
    assert m["srcset"]["jpeg"].startswith(prefix + "thumb/images/cat.jpg.jpg 160w, ")


def test_a_base_with_its_slash_keeps_its_manifest_and_fingerprint(tmp_path: Path) -> None:
    """What the code before the join wrote: base + key, and this fingerprint."""
    base = "https://cdn.example.com/"
    m, data = written(tmp_path, base)
    assert all(r["url"] == base + r["key"] for r in m["renditions"])
    p = proc(LocalStore(tmp_path), public_base_url=base)
    old = manifest.fingerprint(
        {f"{n}.{f}": fp for (n, f), fp in p.fingerprints.items()},
        key_template="{rendition}/{key}.{ext}",
        base_url=base,
        placeholders=True,
    )
    assert p._manifest_fingerprint == old
    # Without the slash the manifest is the same bytes as with it, under a fingerprint
    # that differs from the one its old (broken) manifests carry: they get rewritten.
    assert written(tmp_path, "https://cdn.example.com")[1] == data
    assert (
        proc(LocalStore(tmp_path), public_base_url="https://cdn.example.com")._manifest_fingerprint
        == old
    )


def test_an_empty_base_leaves_the_keys_as_urls(tmp_path: Path) -> None:
    m, _ = written(tmp_path, "")
    assert all(r["url"] == r["key"] for r in m["renditions"])


@pytest.mark.parametrize(
    "base",
    [
        "cdn.example.com",
        "cdn.example.com/images/",
        "//cdn.example.com/",
        "/media/",
        "ftp://cdn.example.com/",
        "https://",
        "https://cdn.example.com/?v=1",
        "https://cdn.example.com/#x",
        "https://cdn.example.com/a b/",
    ],
)
def test_a_base_that_is_not_an_absolute_http_url_stops_startup(base: str) -> None:
    with pytest.raises(ConfigError) as err:
        S.load(env={"THUMBSMITH_PUBLIC_BASE_URL": base})
    assert str(err.value).startswith("setting 'public_base_url' (THUMBSMITH_PUBLIC_BASE_URL")
