"""Renditions as users see them: fit sizes, padding, crops that keep the subject, the focal
point, every format decoding back (Pillow), alpha, animation, and the modern formats'
bytes and SSIM against JPEG on corpus photos."""

from __future__ import annotations

import io
import sys
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from support.helpers import REPO, corpus_bytes, corpus_file, entries, jpeg, upright_size
from thumbsmith.core import Hints, RenderOptions, render
from thumbsmith.core.spec import RenditionSpec, parse_renditions, plan_size
from thumbsmith.core.steps.load import load_factor

sys.path.insert(0, str(REPO / "bench"))
from ssim import Reference, ssim_jpeg  # the bench's SSIM: one implementation


def encode(array: np.ndarray, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    mode = "RGBA" if array.shape[-1] == 4 else "RGB"
    Image.fromarray(array.astype(np.uint8), mode).save(buf, fmt, **kw)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def spec(text: str) -> RenditionSpec:
    return parse_renditions(text)[0]


# --- sizes ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "src", "expected"),
    [
        ("a=400:cover", (120, 90), (90, 90)),  # the examples
        ("a=300:contain", (120, 90), (120, 120)),
        ("a=400x300:cover", (4000, 3000), (400, 300)),
        ("a=400x300:cover", (1000, 4000), (400, 300)),
        ("a=400x300:contain", (4000, 1000), (400, 300)),
        ("a=400x400:fill", (300, 1000), (300, 300)),  # box aspect, nothing enlarged
        ("a=400x200:fill", (4000, 1000), (400, 200)),
        ("a=400:cover:upscale", (120, 90), (400, 400)),
        ("a=300:contain:upscale", (120, 90), (300, 300)),
        ("a=400x200:fill:upscale", (10, 10), (400, 200)),
        ("a=400:upscale", (100, 50), (400, 200)),
        ("a=400", (100, 50), (100, 50)),
        ("a=160:cover", (940, 2), (2, 2)),
    ],
)
def test_fit_sizes(text: str, src: tuple[int, int], expected: tuple[int, int]) -> None:
    assert spec(text).size_for(*src) == expected


FITS = parse_renditions(
    "in=256,cover=300x200:cover,contain=300x200:contain:png+jpeg,fill=200x300:fill,"
    "up=320x240:cover:upscale"
)


@pytest.mark.parametrize("entry", entries("ok"))
def test_every_fit_gives_its_size_on_the_corpus(entry: dict[str, Any]) -> None:
    """Landscape, EXIF-rotated portrait, panorama (sharp__pitm.avif, 4096x800), strips
    (940x2) and tiny (1x1) inputs among them."""
    check_fits(entry)


def check_fits(entry: dict[str, Any]) -> None:
    name = entry["file"]
    up = upright_size(entry)
    out = render(corpus_bytes(name), FITS)
    for r in out:
        s = next(s for s in FITS if s.name == r.name)
        if entry["format"] == "EPS":  # vectors are rasterised at the size the boxes want
            s = replace(s, upscale=True)
        want = plan_size(s, *up)[2:]
        assert (r.width, r.height) == decode(r.data).size, (name, r.name, r.format)
        assert (r.width, r.height) == pytest.approx(want, abs=1), (name, r.name, r.format)
        assert s.width is not None and s.height is not None  # two-sided boxes here
        big_enough = s.upscale or (up[0] >= s.width and up[1] >= s.height)
        if big_enough and s.fit != "inside":
            assert want == (s.width, s.height)  # the exact box where the source allows it
        if s.fit in ("cover", "contain", "fill"):
            assert want[0] * s.height == pytest.approx(want[1] * s.width, rel=0.02, abs=s.width)


def test_cover_decodes_at_the_short_side() -> None:
    """The shrink-on-load factor serves the most demanding output: a cover of a
    panorama needs its short side, a fit-inside only its long side."""
    assert load_factor(4000, 1000, [spec("a=400:cover")]) == pytest.approx(2.5)
    assert load_factor(4000, 1000, [spec("a=400")]) == pytest.approx(10.0)
    assert load_factor(4000, 1000, [spec("a=400"), spec("b=400:cover")]) == pytest.approx(2.5)


# --- padding and fill ---------------------------------------------------------------------
RED = np.full((100, 200, 3), (220, 20, 20), dtype=float)


def test_contain_pads_with_the_background_colour() -> None:
    out = render(encode(RED), [spec("a=100:contain")], RenderOptions(background=(0, 0, 255)))
    px = np.asarray(decode(out[0].data).convert("RGB"), dtype=float)
    assert px.shape == (100, 100, 3)
    assert px[5, 50] == pytest.approx([0, 0, 255], abs=12)  # padding band above
    assert px[50, 50] == pytest.approx([220, 20, 20], abs=12)  # the image, centred


def test_contain_padding_is_transparent_in_formats_with_alpha() -> None:
    out = render(encode(RED), [spec("a=100:contain:png+webp+jpeg")])
    for r in out:
        im = decode(r.data)
        if r.format == "jpeg":
            assert np.asarray(im)[5, 50] == pytest.approx([255, 255, 255], abs=8)
            continue
        rgba = np.asarray(im.convert("RGBA"), dtype=float)
        assert im.mode == "RGBA" and rgba.shape == (100, 100, 4), r.format
        assert rgba[5, 50, 3] == 0 and rgba[50, 50, 3] == 255, r.format
        assert rgba[50, 50, :3] == pytest.approx([220, 20, 20], abs=12), r.format


def test_fill_stretches_to_the_box() -> None:
    stripes = np.zeros((100, 400, 3))
    stripes[:, :200] = (255, 255, 255)  # left half white
    out = render(encode(stripes), [spec("a=100x100:fill")])[0]
    px = np.asarray(decode(out.data).convert("L"), dtype=float)
    assert px.shape == (100, 100)
    assert px[:, :45].mean() > 240 and px[:, 55:].mean() < 15  # half and half: stretched


# --- crops --------------------------------------------------------------------------------
def _subject_image(box: tuple[int, int, int, int], *, skin: bool = False) -> np.ndarray:
    """Flat dull background, a detailed subject (or a skin-tone blob) at ``box``."""
    rng = np.random.default_rng(3)
    image = np.full((600, 1200, 3), (110, 120, 130), dtype=float)
    x, y, w, h = box
    if not skin:
        # Cells of colours with no blue, so even their blends after a resize stay far
        # from the background (random noise would average out into it).
        cells = rng.integers(0, 3, (h // 8 + 1, w // 8 + 1))
        palette = np.array([(0, 0, 0), (255, 255, 0), (255, 0, 0)], dtype=float)
        image[y : y + h, x : x + w] = palette[cells.repeat(8, 0).repeat(8, 1)[:h, :w]]
    else:
        yy, xx = np.mgrid[0:h, 0:w]
        disc = (xx - w / 2) ** 2 + (yy - h / 2) ** 2 < (min(w, h) / 2) ** 2
        patch = image[y : y + h, x : x + w]
        patch[disc] = np.array([224, 172, 140]) + rng.integers(-12, 12, (int(disc.sum()), 3))
    return image


def _kept(out: bytes, background: tuple[int, int, int] = (110, 120, 130)) -> int:
    """Pixels of the output that are not background: how much subject is in the crop."""
    px = np.asarray(decode(out).convert("RGB"), dtype=float)
    return int((np.abs(px - background).max(axis=-1) > 40).sum())


SUBJECT = (900, 200, 200, 200)  # right-hand side; the 300x300 crop of 600x300 pixels


@pytest.mark.parametrize("position", ["entropy", "attention"])
def test_smart_crop_keeps_the_subject(position: str) -> None:
    data = encode(_subject_image(SUBJECT, skin=position == "attention"))
    # resized to 600x300 (scale 0.5): the subject is 100x100 px at x 450..550
    smart = render(data, [spec(f"a=300:cover:{position}")])[0]
    centre = render(data, [spec("a=300:cover")])[0]
    area = 100 * 100 if position == "entropy" else np.pi * 50 * 50
    assert _kept(smart.data) >= 0.9 * area
    assert _kept(centre.data) < 0.1 * area  # the centre crop cuts it off: a real test


def test_a_focal_point_moves_the_window() -> None:
    data = encode(_subject_image(SUBJECT))
    card = [spec("a=300:cover")]
    on = render(data, card, hints=Hints(focus=(1000 / 1200, 300 / 600)))[0]
    off = render(data, card, hints=Hints(focus=(0.1, 0.5)))[0]
    assert _kept(on.data) >= 0.9 * 100 * 100
    assert _kept(off.data) == 0
    # the focus wins over a smart position
    both = render(data, [spec("a=300:cover:entropy")], hints=Hints(focus=(0.1, 0.5)))[0]
    assert _kept(both.data) == 0


# --- formats and alpha --------------------------------------------------------------------
def test_every_format_decodes_to_the_right_size_and_colour() -> None:
    rng = np.random.default_rng(5)
    image = np.full((240, 320, 3), (30, 140, 200), dtype=float)
    image[60:180, 80:240] += rng.integers(-20, 20, (120, 160, 3))
    out = render(encode(image), [spec("a=160:jpeg+webp+avif+png")])
    assert [r.format for r in out] == ["jpeg", "webp", "avif", "png"]
    for r in out:
        im = decode(r.data)
        assert im.format == {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF", "png": "PNG"}[r.format]
        assert im.size == (r.width, r.height) == (160, 120)
        mean = np.asarray(im.convert("RGB"), dtype=float).mean(axis=(0, 1))
        assert mean == pytest.approx([30, 140, 200], abs=4), r.format
        assert not im.getexif(), r.format


def test_rgba_keeps_alpha_except_in_jpeg() -> None:
    image = np.full((120, 160, 4), (20, 200, 40, 255), dtype=float)
    image[:, :80, 3] = 0  # left half transparent
    image[:, 80:120, 3] = 128
    out = render(encode(image), [spec("a=80:png+webp+avif+jpeg")])
    for r in out:
        im = decode(r.data)
        if r.format == "jpeg":
            assert im.mode == "RGB"
            assert np.asarray(im)[30, 10] == pytest.approx([255, 255, 255], abs=8)
            continue
        alpha = np.asarray(im.convert("RGBA"), dtype=float)[..., 3]
        assert im.mode == "RGBA", r.format
        assert alpha[30, 10] <= 3 and alpha[30, 70] >= 252, r.format
        assert alpha[30, 50] == pytest.approx(128, abs=6), r.format
        rgb = np.asarray(im.convert("RGBA"), dtype=float)[30, 70, :3]
        assert rgb == pytest.approx([20, 200, 40], abs=10), r.format  # no dark fringe


def _sizes_and_ssim(name: str, options: RenderOptions) -> dict[str, tuple[int, float]]:
    ref = Reference(corpus_file(name))
    out = render(corpus_bytes(name), [spec("a=480:jpeg+webp+avif")], options)
    return {r.format: (len(r.data), ssim_jpeg(ref, r.data)) for r in out}


@pytest.mark.parametrize("name", ["mei__Canon_EOS_7D_adobergb.jpg", "thumbor__image.avif"])
def test_webp_and_avif_are_smaller_than_jpeg_at_the_same_ssim(name: str) -> None:
    """At the defaults (``quality = "match"``, core/quality.py), on camera photos; the
    matched-quality rule over the whole corpus is tests/imaging/test_matched_quality.py
    and bench/parity.py."""
    got = _sizes_and_ssim(name, RenderOptions())
    for fmt in ("webp", "avif"):
        assert got[fmt][0] < got["jpeg"][0], fmt
        assert got[fmt][1] >= got["jpeg"][1] - 0.01, fmt


def test_a_higher_avif_quality_reaches_jpeg_ssim_on_a_detailed_photo() -> None:
    got = _sizes_and_ssim("sharp__Landscape_1.jpg", RenderOptions(avif_quality=65))
    assert got["avif"][0] < got["jpeg"][0]
    assert got["avif"][1] >= got["jpeg"][1] - 0.01


# --- animation ----------------------------------------------------------------------------
def _gif(frames: int = 5) -> tuple[bytes, list[int]]:
    durations = [40, 60, 80, 100, 120][:frames]
    images = [
        Image.fromarray(np.full((60, 80, 3), (40 * i, 255 - 40 * i, 90), np.uint8))
        for i in range(frames)
    ]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=durations, loop=3)
    return buf.getvalue(), durations


def test_animated_gif_gives_an_animated_webp() -> None:
    data, durations = _gif()
    out = render(data, parse_renditions("anim=40:webp+jpeg:animated,still=40:webp"))
    anim = next(r for r in out if r.name == "anim" and r.format == "webp")
    with Image.open(io.BytesIO(anim.data)) as im:
        frames = getattr(im, "n_frames", 1)
        assert im.format == "WEBP" and frames == len(durations)
        # GIF counts repeats after the first play, WebP counts plays: 3 repeats = 4 plays.
        assert im.size == (40, 30) and im.info.get("loop") == 3 + 1
        got = []
        for i in range(frames):
            im.seek(i)
            im.load()
            got.append(im.info["duration"])
            colour = np.asarray(im.convert("RGB"), dtype=float).mean(axis=(0, 1))
            assert colour == pytest.approx([40 * i, 255 - 40 * i, 90], abs=8)
    assert got == durations
    for r in out:
        if r is not anim:
            with Image.open(io.BytesIO(r.data)) as im:
                assert getattr(im, "n_frames", 1) == 1, (r.name, r.format)  # first frame only


def test_only_one_output_has_the_bytes_it_has_among_all() -> None:
    """``only=(name, format)`` encodes one output, from the same cascade: the on-demand
    origin makes one named rendition with pre-generation's bytes."""
    specs = parse_renditions("large=640:webp+jpeg,thumb=100x100:cover:jpeg+png,tiny=40")
    data = jpeg(1200, 900, seed=3)
    full = {(r.name, r.format): r.data for r in render(data, specs).renditions}
    for name, fmt in (("thumb", "jpeg"), ("thumb", "png"), ("tiny", "jpeg"), ("large", "webp")):
        (alone,) = render(data, specs, only=(name, fmt)).renditions
        assert (alone.name, alone.format) == (name, fmt)
        assert alone.data == full[(name, fmt)], (name, fmt)
    # Rendered by itself, the thumb comes from another resize chain: other bytes.
    (single,) = render(data, parse_renditions("thumb=100x100:cover:jpeg")).renditions
    assert single.data != full[("thumb", "jpeg")]
