"""The origin over a local bucket folder, through real HTTP (uvicorn on 127.0.0.1): what a
browser, curl or a CDN gets for hits, misses, every fit and format, ``f=auto``, 304s,
signed URLs, the edge mark and each error class. Renders run inline (one at a time in
the app's process); the render pool's own cases are in tests/runners/test_origin.py."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pyvips
from PIL import Image

from support.helpers import created, jpeg
from support.origin import CHROMIUM, CURL, SAFARI, Reply, fetch, running
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.runners import bootstrap
from thumbsmith.runners.origin import build
from thumbsmith.runners.target import parse_target
from thumbsmith.service.ondemand.params import EDGE_HEADER, edge_mark
from thumbsmith.service.ondemand.signing import sign_url
from thumbsmith.service.renditions import (
    META_FINGERPRINT,
    META_SOURCE_ETAG,
    META_SOURCE_KEY,
)
from thumbsmith.settings import Settings, load

NEW_KEY = "new-key-0123456789abcdef"
OLD_KEY = "old-key-0123456789abcdef"
RENDITIONS = "large=640:avif+webp+jpeg,thumb=100x100:cover:webp+jpeg,logo=200:webp+png+jpeg"
YEAR = "public, max-age=31536000, immutable"


def png_with_alpha() -> bytes:
    img = Image.new("RGBA", (400, 300), (200, 30, 30, 0))
    img.paste((20, 200, 40, 255), (100, 75, 300, 225))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def origin_settings(**env: str) -> Settings:
    values = {
        "THUMBSMITH_RENDITIONS": RENDITIONS,
        "THUMBSMITH_ORIGIN_SIGNING_KEYS": f"{NEW_KEY},{OLD_KEY}",
        "THUMBSMITH_RULES": "images/avatars/=thumb",
    }
    values.update({f"THUMBSMITH_{k.upper()}": v for k, v in env.items()})
    return load(env=values)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "photos" / "images" / "avatars").mkdir(parents=True)
    (tmp_path / "photos" / "images" / "cat.jpg").write_bytes(jpeg(800, 600))
    (tmp_path / "photos" / "images" / "avatars" / "me.jpg").write_bytes(jpeg(300, 300))
    (tmp_path / "photos" / "images" / "logo.png").write_bytes(png_with_alpha())
    (tmp_path / "photos" / "images" / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"x" * 200)
    return tmp_path


def serve(root: Path, settings: Settings, **kw: Any) -> Any:
    built = build(parse_target(str(root / "photos")), settings, inline=True, **kw)
    return running(built.app)


@pytest.fixture
def url(root: Path) -> Iterator[str]:
    with serve(root, origin_settings()) as base:
        yield base


def image(reply: Reply) -> tuple[str, int, int]:
    """What the bytes really are: the format libvips reads and the pixel size."""
    assert reply.status == 200, reply.body
    img = pyvips.Image.new_from_buffer(reply.body, "")
    loader = str(img.get("vips-loader")).removesuffix("load_buffer")
    names = {"jpeg": "jpeg", "webp": "webp", "heif": "avif", "png": "png"}
    return names[loader], img.width, img.height


def stored(root: Path, key: str) -> tuple[bytes, dict[str, str]]:
    data, info = LocalStore(root).get("photos-output", key)
    return data, dict(info.metadata)


def signed(path: str, key: str = NEW_KEY, **kw: Any) -> str:
    return sign_url(path, key, **kw)


# --- hits and misses -------------------------------------------------------------------
def test_a_miss_renders_writes_as_pre_generation_would_then_hits(url: str, root: Path) -> None:
    first = fetch(url, "/large/images/cat.jpg.webp")
    assert image(first) == ("webp", 640, 480)
    assert first["X-Thumbsmith-Cache"] == "MISS"
    assert first["Content-Type"] == "image/webp"
    assert first["Content-Length"] == str(len(first.body))
    assert first["Cache-Control"] == YEAR
    assert first["ETag"].startswith('"') and len(first["ETag"]) == 34
    assert first.get("Last-Modified")
    assert first.get("Vary") is None  # an explicit format never varies
    timing = first["Server-Timing"]
    assert all(f"{phase};dur=" in timing for phase in ("read", "render", "write"))

    data, meta = stored(root, "large/images/cat.jpg.webp")
    assert data == first.body
    assert meta[META_SOURCE_KEY] == "images/cat.jpg"
    assert meta[META_SOURCE_ETAG] and meta[META_FINGERPRINT]
    # process() sees it as its own: that output is no longer pending, the others are.
    processor = bootstrap.processor(LocalStore(root), origin_settings())
    pending = processor.pending("photos", "images/cat.jpg").renditions
    assert "large/images/cat.jpg.webp" not in pending and "large/images/cat.jpg.jpg" in pending

    second = fetch(url, "/large/images/cat.jpg.webp")
    assert second["X-Thumbsmith-Cache"] == "HIT"
    assert second.body == first.body and second["ETag"] == first["ETag"]
    assert second["Server-Timing"].startswith("read;dur=")


def test_pre_made_renditions_are_hits_with_the_same_etag_as_a_miss(root: Path) -> None:
    settings = origin_settings()
    bootstrap.processor(LocalStore(root), settings).process(created("images/cat.jpg"))
    with serve(root, settings) as base:
        hit = fetch(base, "/thumb/images/cat.jpg.jpg")
        assert hit["X-Thumbsmith-Cache"] == "HIT" and image(hit) == ("jpeg", 100, 100)
        # The miss of a twin origin over a copy would answer the same ETag: it is the
        # source ETag and the fingerprint, not the bytes.
        (root / "photos-output" / "thumb" / "images" / "cat.jpg.jpg").unlink()
        (
            root / ".thumbsmith-meta" / "photos-output" / "thumb" / "images" / "cat.jpg.jpg.json"
        ).unlink()
        miss = fetch(base, "/thumb/images/cat.jpg.jpg")
        assert miss["X-Thumbsmith-Cache"] == "MISS" and miss["ETag"] == hit["ETag"]
        # A strong ETag promises the same bytes: rendered alone, the rendition is the
        # one pre-generation made beside its siblings.
        assert miss.body == hit.body


def test_head_answers_the_headers_without_the_body(url: str) -> None:
    miss = fetch(url, "/img/images/cat.jpg?p=thumb&f=webp", method="HEAD")
    assert miss.status == 200 and miss.body == b"" and miss["X-Thumbsmith-Cache"] == "MISS"
    got = fetch(url, "/img/images/cat.jpg?p=thumb&f=webp")
    assert got["X-Thumbsmith-Cache"] == "HIT"
    assert miss["Content-Length"] == str(len(got.body)) and miss["ETag"] == got["ETag"]
    hit = fetch(url, "/thumb/images/cat.jpg.webp", method="HEAD")
    assert hit.status == 200 and hit.body == b"" and hit["Content-Length"] == str(len(got.body))


def test_if_none_match_is_304_repeating_cache_control_and_vary(url: str) -> None:
    first = fetch(url, "/img/images/cat.jpg?p=large", headers={"Accept": CHROMIUM})
    etag = first["ETag"]
    again = fetch(
        url, "/img/images/cat.jpg?p=large", headers={"Accept": CHROMIUM, "If-None-Match": etag}
    )
    assert again.status == 304 and again.body == b""
    assert again["ETag"] == etag and again["Cache-Control"] == YEAR and again["Vary"] == "Accept"
    # Not yet rendered, yet known: the ETag needs no render.
    fresh = fetch(url, "/large/images/cat.jpg.jpg")
    stale = fetch(url, "/thumb/images/logo.png.jpg", headers={"If-None-Match": '"nope"'})
    assert stale.status == 200
    assert (
        fetch(url, "/large/images/cat.jpg.jpg", headers={"If-None-Match": fresh["ETag"]}).status
        == 304
    )


# --- every fit and format, f=auto ------------------------------------------------------
@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif", "png"])
@pytest.mark.parametrize(
    ("fit", "size"),
    [("inside", (267, 200)), ("cover", (300, 200)), ("contain", (300, 200)), ("fill", (300, 200))],
)
def test_every_fit_and_format_signed(
    url: str, root: Path, fit: str, size: tuple[int, int], fmt: str
) -> None:
    reply = fetch(url, signed(f"/img/images/cat.jpg?w=300&h=200&fit={fit}&f={fmt}"))
    assert image(reply) == (fmt, *size)
    ident = f"w300-h200-{fit}" + ("-center" if fit == "cover" else "")
    ext = {"jpeg": "jpg"}.get(fmt, fmt)
    data, meta = stored(root, f"_ondemand/images/cat.jpg/{ident}.{ext}")
    assert data == reply.body and meta["thumbsmith-ondemand"] == ident
    assert meta[META_SOURCE_KEY] == "images/cat.jpg"


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [(CHROMIUM, "avif"), (SAFARI, "avif"), (CURL, "jpeg"), ("image/webp", "webp")],
)
def test_auto_follows_accept_and_varies_on_it(url: str, accept: str, fmt: str) -> None:
    reply = fetch(url, "/img/images/cat.jpg?p=large&f=auto", headers={"Accept": accept})
    assert image(reply)[0] == fmt and reply["Vary"] == "Accept"
    explicit = fetch(url, f"/img/images/cat.jpg?p=large&f={fmt}", headers={"Accept": accept})
    assert explicit.body == reply.body and explicit.get("Vary") is None


def test_auto_keeps_png_for_a_source_with_alpha(url: str) -> None:
    curl = fetch(url, "/img/images/logo.png?p=logo", headers={"Accept": CURL})
    assert image(curl) == ("png", 200, 150)
    chromium = fetch(url, "/img/images/logo.png?p=logo", headers={"Accept": CHROMIUM})
    assert image(chromium)[0] == "webp"


# --- signatures ------------------------------------------------------------------------
def test_signatures_good_tampered_wrong_key_expired_rotated(url: str) -> None:
    path = "/img/images/cat.jpg?w=120&f=webp"
    assert fetch(url, signed(path)).status == 200
    assert fetch(url, signed(path, OLD_KEY)).status == 200  # rotation: the older key still works
    tampered = fetch(url, signed(path).replace("w=120", "w=121"))
    assert tampered.status == 403 and b"does not match" in tampered.body
    assert tampered["Cache-Control"] == "public, max-age=10"
    wrong = fetch(url, signed(path, "another-key-0123456789"))
    assert wrong.status == 403 and b"does not match" in wrong.body
    expired = fetch(url, signed(path, now=time.time() - 100, expires=10))
    assert expired.status == 403 and b"expired" in expired.body
    assert fetch(url, signed(path, expires=60)).status == 200
    unsigned = fetch(url, path)
    assert unsigned.status == 403 and b"not signed" in unsigned.body


def test_without_a_signing_key_ad_hoc_is_403_and_named_work(root: Path) -> None:
    with serve(root, origin_settings(origin_signing_keys="")) as base:
        reply = fetch(base, signed("/img/images/cat.jpg?w=120&f=webp"))
        assert reply.status == 403 and b"no signing key is set" in reply.body
        assert image(fetch(base, "/img/images/cat.jpg?p=thumb&f=jpeg")) == ("jpeg", 100, 100)


def test_an_ad_hoc_key_renders_only_with_the_edge_mark(url: str) -> None:
    key = "_ondemand/images/cat.jpg/w200-inside.webp"
    bare = fetch(url, "/" + key)
    assert bare.status == 404 and bare["Cache-Control"] == "public, max-age=60"
    assert (
        fetch(url, "/" + key, headers={EDGE_HEADER: edge_mark(key, "other-0123456789ab")}).status
        == 404
    )
    marked = fetch(url, "/" + key, headers={EDGE_HEADER: edge_mark(key, OLD_KEY)})
    assert image(marked) == ("webp", 200, 150) and marked["X-Thumbsmith-Cache"] == "MISS"
    assert fetch(url, "/" + key)["X-Thumbsmith-Cache"] == "HIT"  # stored: served to anyone
    # Only canonical ids in the limits ever render, mark or not.
    odd = "_ondemand/images/cat.jpg/w200-inside-q80.png"
    assert fetch(url, "/" + odd, headers={EDGE_HEADER: edge_mark(odd, NEW_KEY)}).status == 404


def test_allowlisted_widths_need_no_signature_nor_mark(root: Path) -> None:
    """As Next.js's deviceSizes: ``?w=W`` alone, W in THUMBSMITH_ORIGIN_WIDTHS, works
    unsigned (even with signing off), and so does its key for a CDN's fallback."""
    with serve(root, origin_settings(origin_signing_keys="", origin_widths="256,640")) as base:
        first = fetch(base, "/img/images/cat.jpg?w=640", headers={"Accept": CHROMIUM})
        assert image(first) == ("avif", 640, 480) and first["X-Thumbsmith-Cache"] == "MISS"
        assert first["Vary"] == "Accept"
        stored = root / "photos-output/_ondemand/images/cat.jpg/w640-inside.avif"
        assert stored.is_file()
        direct = fetch(base, "/_ondemand/images/cat.jpg/w256-inside.jpg")  # no mark
        assert image(direct) == ("jpeg", 256, 192) and direct["X-Thumbsmith-Cache"] == "MISS"
        for path in ("/img/images/cat.jpg?w=641", "/img/images/cat.jpg?w=640&q=50"):
            assert fetch(base, path).status == 403, path
        assert fetch(base, "/_ondemand/images/cat.jpg/w641-inside.jpg").status == 404


# --- errors ----------------------------------------------------------------------------
def test_unknown_parameters_are_400_naming_them(url: str) -> None:
    img = fetch(url, "/img/images/cat.jpg?p=large&width=3", headers={"Accept": CHROMIUM})
    assert img.status == 400 and b"width" in img.body and img["Vary"] == "Accept"
    assert img["Cache-Control"] == "public, max-age=60"
    out = fetch(url, "/large/images/cat.jpg.jpg?v=2&utm=x")
    assert out.status == 400 and b"utm, v" in out.body and out.get("Vary") is None


@pytest.mark.parametrize(
    "path",
    [
        "/img/images/nope.jpg?p=large",
        "/large/images/nope.jpg.jpg",
        "/huge/images/cat.jpg.jpg",  # no such rendition
        "/thumb/images/cat.jpg.avif",  # thumb is not made as AVIF
        "/large/images/avatars/me.jpg.jpg",  # the rules give avatars only thumb
        "/img/elsewhere/cat.jpg?p=large",  # outside the prefix
    ],
)
def test_what_names_nothing_is_404(url: str, path: str) -> None:
    reply = fetch(url, path)
    assert reply.status == 404, reply.body
    assert reply["Cache-Control"] == "public, max-age=60"


def test_a_corrupt_source_is_422_naming_it_and_remembered(root: Path) -> None:
    built = build(parse_target(str(root / "photos")), origin_settings(), inline=True)
    with running(built.app) as url:
        first = fetch(url, "/img/images/bad.jpg?p=thumb&f=jpeg")
        assert first.status == 422 and b"bad.jpg" in first.body
        assert first["Cache-Control"] == "public, max-age=60"
        # Remembered for this source version: another rendition of it is not tried.
        assert [k for k, _ in built.app.state.origin.failed] == ["images/bad.jpg"]
        again = fetch(url, "/thumb/images/bad.jpg.webp")
        assert again.status == 422 and again.body == first.body
    assert not (root / "photos-output" / "thumb").exists()


def test_a_rendition_over_max_response_bytes_is_written_then_302(root: Path) -> None:
    with serve(root, origin_settings(), max_response_bytes=100) as base:
        reply = fetch(base, "/large/images/cat.jpg.jpg")
        assert reply.status == 302 and reply["Cache-Control"] == "private, no-store"
        assert reply["Location"].endswith("/large/images/cat.jpg.jpg")
        data, _ = stored(root, "large/images/cat.jpg.jpg")
        assert len(data) > 100
