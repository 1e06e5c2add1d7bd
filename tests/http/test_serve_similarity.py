"""The detail view keeps the promise visible: each rendition's SSIM against the pixels it
was encoded from, and each format's gap to the JPEG beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from support.helpers import corpus_bytes
from thumbsmith import settings as S
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.http.serve.activity import Activity
from thumbsmith.http.serve.app import Site, make_app
from thumbsmith.runners.bootstrap import process_config, processor
from thumbsmith.service.events import EventKind, ObjectEvent

RENDITIONS = "large=320:avif+webp+jpeg,thumb=160:webp+png"


def _client(root: Path, *, with_config: bool = True) -> TestClient:
    settings = S.load(env={"THUMBSMITH_RENDITIONS": RENDITIONS})
    store = LocalStore(root)
    store.put(
        "photos",
        "images/leaves.jpg",
        corpus_bytes("sharp__Landscape_1.jpg"),
        content_type="image/jpeg",
    )
    processor(store, settings).process(
        ObjectEvent("photos", "images/leaves.jpg", EventKind.CREATED)
    )
    config = process_config(settings)
    site = Site(store, "photos", config.keys, 50_000_000, config if with_config else None)
    return TestClient(make_app(site, Activity("photos"), allowed_hosts=("testserver",)))


def test_detail_shows_ssim_and_the_gap_to_the_jpeg(tmp_path: Path) -> None:
    (tmp_path / "photos" / "images").mkdir(parents=True)
    view = _client(tmp_path).get("/api/source", params={"key": "images/leaves.jpg"}).json()
    got = {(r["name"], r["format"]): r for r in view["renditions"]}
    assert set(got) == {
        ("large", "avif"),
        ("large", "webp"),
        ("large", "jpeg"),
        ("thumb", "webp"),
        ("thumb", "png"),
    }
    jpeg = got["large", "jpeg"]["ssim"]
    assert 0.9 < jpeg < 1.0 and "ssim_gap" not in got["large", "jpeg"]
    for fmt in ("avif", "webp"):
        r = got["large", fmt]
        assert 0.9 < r["ssim"] < 1.0
        assert r["ssim_gap"] == pytest.approx(r["ssim"] - jpeg, abs=1.1e-4)  # both rounded
        assert r["ssim_gap"] >= -0.02  # the promise, on this photo
    assert "ssim_gap" not in got["thumb", "webp"]  # no JPEG beside it
    assert "ssim" not in got["thumb", "png"]  # lossless
    # The listing stays as cheap as it was: no SSIM there.
    listing = _client(tmp_path).get("/api/sources").json()
    assert all("ssim" not in r for v in listing["sources"] for r in v["renditions"])


def test_without_the_render_config_the_detail_view_is_as_before(tmp_path: Path) -> None:
    (tmp_path / "photos" / "images").mkdir(parents=True)
    client = _client(tmp_path, with_config=False)
    view = client.get("/api/source", params={"key": "images/leaves.jpg"}).json()
    assert view["renditions"] and all("ssim" not in r for r in view["renditions"])
