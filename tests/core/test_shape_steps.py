"""The steps and encoders that shape renditions, alone: crop windows, padding, alpha bands,
the cascade's parent, and one decode whatever the set."""

from __future__ import annotations

import io

import numpy as np
import pytest
import pyvips
from PIL import Image

from support.helpers import corpus_bytes
from support.imaging import SPECS
from thumbsmith.core import RenderOptions, render
from thumbsmith.core.decoders import vips
from thumbsmith.core.encoders import ENCODERS
from thumbsmith.core.job import Job
from thumbsmith.core.pipeline import STEPS, run
from thumbsmith.core.spec import parse_renditions
from thumbsmith.core.steps.crop import window, window_size
from thumbsmith.core.steps.flatten import with_alpha
from thumbsmith.core.steps.pad import pad


def grey(width: int, height: int, bands: int = 3) -> pyvips.Image:
    return (pyvips.Image.black(width, height, bands=bands) + 128).cast("uchar")


def test_window_centre_focus_and_clamping() -> None:
    image = grey(600, 300)
    assert window(image, 300, 300, "center") == (150, 0)
    assert window(image, 300, 300, "center", (0.9, 0.5)) == (300, 0)  # clamped at the edge
    assert window(image, 300, 300, "center", (0.0, 0.0)) == (0, 0)
    assert window(image, 300, 300, "center", (0.5, 0.5)) == (150, 0)


def test_window_size_keeps_the_box_aspect_on_small_images() -> None:
    assert window_size(grey(600, 300), 300, 300) == (300, 300)
    assert window_size(grey(120, 90), 400, 400) == (90, 90)


def test_pad_transparent_or_background() -> None:
    clear = pad(grey(10, 4), 10, 10, (0, 0, 255), transparent=True)
    assert clear.bands == 4 and clear.getpoint(0, 0) == [0, 0, 255, 0]
    assert clear.getpoint(5, 5) == [128, 128, 128, 255]
    solid = pad(grey(10, 4), 10, 10, (0, 0, 255), transparent=False)
    assert solid.bands == 3 and solid.getpoint(0, 0) == [0, 0, 255]


def test_grey_alpha_is_widened_to_rgba() -> None:
    out = with_alpha(grey(4, 4, bands=2))
    assert out.bands == 4 and out.interpretation == "srgb"


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif", "png"])
def test_each_encoder_alone(fmt: str) -> None:
    data = ENCODERS[fmt](grey(32, 16, bands=4), RenderOptions(), None)
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (32, 16)
        assert im.mode == ("RGB" if fmt == "jpeg" else "RGBA")


def test_cascade_derives_from_the_smallest_image_twice_as_large() -> None:
    specs = parse_renditions("a=800,b=400,c=320,d=100")
    noise = np.random.default_rng(2).integers(0, 255, (750, 1000, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "PNG")
    job = run(Job(buf.getvalue(), specs, RenderOptions()), [s for s in STEPS if s.name != "encode"])
    sizes = {
        t.spec.name: (job.resized[t.index].width, job.resized[t.index].height) for t in job.targets
    }
    assert sizes == {"a": (800, 600), "b": (400, 300), "c": (320, 240), "d": (100, 75)}
    # d (100) comes from c (320 >= 2 x 100), the smallest one at least twice its size
    direct = job.resized[2].resize(100 / 320, kernel="lanczos3")
    assert (job.resized[3] == direct).min() == 255


def test_one_decode_whatever_the_set(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = vips.open_vips

    def counting(fmt: str, data: bytes, **extra: object) -> pyvips.Image:
        calls.append(fmt)
        return real(fmt, data, **extra)

    monkeypatch.setattr(vips, "open_vips", counting)
    specs = parse_renditions(
        "a=1280:avif+webp+jpeg,b=400:cover:attention:webp,c=300:contain:png,d=200x100:fill,"
        "e=64:webp:animated"
    )
    render(corpus_bytes("sharp__animated-loop-3.gif"), specs)
    render(corpus_bytes("sharp__Landscape_6.jpg"), specs)
    assert calls == ["gif", "jpeg"]


def test_animated_webp_source_keeps_its_frames() -> None:
    out = render(
        corpus_bytes("sharp__rotating-squares.webp"), parse_renditions("a=40:webp:animated")
    )
    with Image.open(io.BytesIO(out[0].data)) as im:
        assert getattr(im, "n_frames", 1) == 9 and im.size == (40, 40) and im.mode == "RGBA"


def test_default_set_bytes_do_not_depend_on_the_new_steps() -> None:
    """The default JPEG set skips crop, pad and animate: same bytes with them removed."""
    data = corpus_bytes("sharp__Landscape_6.jpg")
    full = run(Job(data, SPECS, RenderOptions())).renditions
    job = Job(data, SPECS, RenderOptions())
    for step in STEPS:
        if step.name in ("crop", "pad", "animate"):
            if step.name == "crop":
                job.outputs = dict(job.resized)
            continue
        step.run(job)
    assert [r.data for r in job.renditions] == [r.data for r in full]
