"""Each pipeline step alone, plus behaviour users see: alpha, depth, sizes, metadata."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import pyvips
from PIL import Image

from support.imaging import SPECS, pixels
from thumbsmith.core import RenderOptions, render
from thumbsmith.core.decoders import vips
from thumbsmith.core.encoders.jpeg import encode_jpeg
from thumbsmith.core.job import Job
from thumbsmith.core.pipeline import STEPS, PipelineOrderError, check_order, run
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.core.steps.flatten import flatten
from thumbsmith.core.steps.load import SHRINK_MARGIN, load_factor
from thumbsmith.core.steps.orient import orient
from thumbsmith.core.steps.plan import step_plan
from thumbsmith.core.steps.to_srgb import to_srgb
from thumbsmith.errors import DecoderTimeout


def png(mode: str, size: tuple[int, int], colour: object, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, "PNG", **kw)  # type: ignore[arg-type]
    return buf.getvalue()


def test_declared_order_satisfies_every_need() -> None:
    check_order(STEPS)
    assert STEPS[0].name == "sniff" and STEPS[-1].name == "encode"


def _photo() -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    noise = np.random.default_rng(1).integers(0, 255, (300, 400, 4), dtype=np.uint8)
    Image.fromarray(noise, "RGBA").convert("RGB").save(buf, "PNG", exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("i", range(len(STEPS) - 1))
def test_swapping_two_steps_is_refused_or_harmless(i: int) -> None:
    """Every adjacent swap either breaks a declared need (refused before anything runs)
    or gives exactly the bytes of the declared order: no silent reordering."""
    swapped = [*STEPS]
    swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    try:
        check_order(swapped)
    except PipelineOrderError:
        with pytest.raises(PipelineOrderError):
            run(Job(_photo(), SPECS, RenderOptions()), swapped)
        return
    expected = run(Job(_photo(), SPECS, RenderOptions())).renditions
    got = run(Job(_photo(), SPECS, RenderOptions()), swapped).renditions
    assert [r.data for r in got] == [r.data for r in expected]


def test_a_step_out_of_order_fails_loudly_even_unchecked() -> None:
    """The job's accessors back the declarations: a step run early raises, never
    computes on empty fields."""
    for step in STEPS[1:]:
        with pytest.raises(RuntimeError, match="pipeline order"):
            step.run(Job(_photo(), SPECS, RenderOptions()))


def test_plan_orders_by_output_size_and_never_upscales() -> None:
    specs = [RenditionSpec("wide", 2000, 200), RenditionSpec("sq", 500, 500)]
    job = Job(b"", specs, RenderOptions(), source_size=(1000, 1000))
    step_plan(job)
    assert [(t.spec.name, t.width, t.height) for t in job.targets] == [
        ("sq", 500, 500),
        ("wide", 200, 200),
    ]


def test_load_factor_keeps_the_largest_rendition_sharp() -> None:
    assert load_factor(4032, 3024, SPECS) == pytest.approx(4032 / 1280 / SHRINK_MARGIN)
    assert load_factor(100, 100, SPECS) == 1.0


def test_jpeg_shrink_on_load_picks_the_smallest_safe_scale() -> None:
    big = pyvips.Image.black(4000, 3000, bands=3).jpegsave_buffer()
    opened = vips.open_scaled("jpeg", big, 4000 / 1280)
    assert opened.image.width == 2000  # 1/2; 1/4 (1000 px) would be under 1280


def test_webp_scale_on_load_gives_exact_sizes() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (2000, 1500), "blue").save(buf, "WEBP")
    out = render(buf.getvalue(), SPECS)
    assert [(r.width, r.height) for r in out] == [(1280, 960), (640, 480), (160, 120)]


def test_never_upscales_and_keeps_one_pixel() -> None:
    out = render(png("RGB", (940, 2), "red"), SPECS)
    assert [(r.width, r.height) for r in out] == [(940, 2), (640, 1), (160, 1)]
    out = render(png("RGB", (10, 20), "red"), SPECS)
    assert {(r.width, r.height) for r in out} == {(10, 20)}


def test_alpha_is_flattened_onto_white_by_default() -> None:
    out = render(png("RGBA", (64, 64), (255, 0, 0, 0)), [SPECS[2]])[0]
    assert np.allclose(pixels(out.data).mean(axis=(0, 1)), 255, atol=2)


def test_alpha_is_flattened_onto_a_custom_background() -> None:
    half = png("RGBA", (64, 64), (255, 0, 0, 128))
    out = render(half, [SPECS[2]], RenderOptions(background=(0, 0, 255)))[0]
    r, g, b = pixels(out.data).mean(axis=(0, 1))
    assert r == pytest.approx(128, abs=6) and g < 8 and b == pytest.approx(127, abs=6)


def test_flatten_step_alone() -> None:
    image = pyvips.Image.black(4, 4, bands=4).copy(interpretation="srgb")
    flat = flatten(image, (10, 20, 30))
    assert flat.bands == 3
    assert [flat.getpoint(0, 0)[i] for i in range(3)] == [10, 20, 30]


def test_palette_with_trns_is_flattened() -> None:
    im = Image.new("P", (32, 32), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (16, 0, 32, 32))
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=0)
    got = pixels(render(buf.getvalue(), [SPECS[2]])[0].data)
    assert got[16, 4].tolist() == pytest.approx([255, 255, 255], abs=4)  # transparent -> white
    assert got[16, 28][0] > 200 and got[16, 28][1] < 60  # opaque red stays red


def test_sixteen_bit_is_scaled_not_truncated() -> None:
    arr = np.full((16, 16, 3), 0x8000, dtype=">u2")
    image = pyvips.Image.new_from_memory(arr.astype("<u2").tobytes(), 16, 16, 3, "ushort")
    image = image.copy(interpretation="rgb16")
    out = to_srgb(image)
    assert out.format == "uchar" and out.interpretation == "srgb"
    assert out.getpoint(0, 0)[0] == pytest.approx(128, abs=1)  # not 0 (cast) nor 255 (clip)


def test_to_srgb_leaves_plain_srgb_untouched() -> None:
    image = pyvips.Image.black(4, 4, bands=3).copy(interpretation="srgb")
    assert to_srgb(image) is image


def test_grey_becomes_three_bands() -> None:
    out = render(png("L", (30, 30), 77), [SPECS[2]])[0]
    assert pixels(out.data)[0, 0].tolist() == pytest.approx([77, 77, 77], abs=2)


#: What each EXIF orientation asks a viewer to do, as Pillow spells it (an independent
#: implementation to check libvips' against).
_PIL_TRANSPOSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_step_puts_every_pixel_where_exif_says(orientation: int) -> None:
    # 3x2, every pixel distinct: a skipped flip or a rotation the wrong way moves one.
    stored = np.arange(1, 7, dtype=np.uint8).reshape(2, 3) * 40
    image = pyvips.Image.new_from_memory(stored.tobytes(), 3, 2, 1, "uchar")
    out = orient(image, orientation)
    got = np.ndarray((out.height, out.width), np.uint8, out.write_to_memory())
    reference = Image.fromarray(stored)
    transpose = _PIL_TRANSPOSE[orientation]
    if transpose is not None:
        reference = reference.transpose(transpose)
    assert got.tolist() == np.asarray(reference).tolist()
    assert out.get_typeof("orientation") == 0 or out.get("orientation") == 1


def test_invalid_orientation_is_one() -> None:
    image = pyvips.Image.black(2, 2).copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 0)
    assert vips.orientation_of(image) == 1


def _exif_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW
    exif[0x010F] = "SecretCam"  # Make
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), "green").save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def test_metadata_is_stripped_by_default() -> None:
    out = render(_exif_jpeg(), [SPECS[0]])[0]
    assert (out.width, out.height) == (40, 60)
    with Image.open(io.BytesIO(out.data)) as im:
        assert not im.getexif() and "icc_profile" not in im.info


def test_metadata_kept_when_asked_but_orientation_reset() -> None:
    out = render(_exif_jpeg(), [SPECS[0]], RenderOptions(strip_metadata=False))[0]
    with Image.open(io.BytesIO(out.data)) as im:
        exif = im.getexif()
        assert exif.get(0x010F) == "SecretCam"
        assert exif.get(0x0112, 1) == 1
        assert im.size == (40, 60)


def test_encode_is_progressive_at_the_quality_asked() -> None:
    image = pyvips.Image.black(64, 64, bands=3).copy(interpretation="srgb")
    data = encode_jpeg(image, RenderOptions(quality=85))
    with Image.open(io.BytesIO(data)) as im:
        assert im.info.get("progressive") or im.info.get("progression")
    plain = encode_jpeg(image, RenderOptions(progressive=False))
    with Image.open(io.BytesIO(plain)) as im:
        assert not (im.info.get("progressive") or im.info.get("progression"))


def test_output_order_follows_specs() -> None:
    specs = [RenditionSpec("small", 50, 50), RenditionSpec("big", 300, 300)]
    out = render(png("RGB", (400, 400), "red"), specs)
    assert [(r.name, r.width) for r in out] == [("small", 50), ("big", 300)]


def test_decode_timeout_is_enforced() -> None:
    big = pyvips.Image.gaussnoise(6000, 6000).cast("uchar").pngsave_buffer(compression=1)
    start = time.monotonic()
    with pytest.raises(DecoderTimeout) as info:
        render(big, SPECS, RenderOptions(decode_timeout=0.05), name="slow.png")
    assert "slow.png" in str(info.value)
    assert time.monotonic() - start < 3.0


def test_unexpected_errors_become_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    from thumbsmith.core import pipeline
    from thumbsmith.errors import CorruptImage

    def boom(_job: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(pipeline, "STEPS", (pipeline.Step("boom", boom),))
    monkeypatch.setattr(
        "thumbsmith.core.rendering.run", lambda job: pipeline.run(job, pipeline.STEPS)
    )
    with pytest.raises(CorruptImage, match=r"x\.png"):
        render(png("RGB", (4, 4), "red"), SPECS, name="x.png")


def test_libvips_error_text_that_is_not_utf8_is_a_typed_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyvips decodes libvips' error buffer as UTF-8 and raises UnicodeDecodeError on
    other bytes (fuzz-found, intermittently: the buffer was then never cleared)."""
    import pyvips.error

    from thumbsmith.errors import CorruptImage

    real = pyvips.error._to_string

    def not_utf8(x: object) -> str:
        raise UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid continuation byte")

    from support.helpers import jpeg

    broken = jpeg(400, 300)[:700]  # cut mid-scan: libvips fails, with an error message
    monkeypatch.setattr(pyvips.error, "_to_string", not_utf8)
    with pytest.raises(CorruptImage) as info:
        render(broken, SPECS, name="odd.jpg")
    assert "not UTF-8" in str(info.value) and "unexpected" not in str(info.value)
    monkeypatch.setattr(pyvips.error, "_to_string", real)
    with pytest.raises(CorruptImage) as again:
        render(broken, SPECS, name="odd.jpg")
    assert "not UTF-8" not in str(again.value) and "unexpected" not in str(again.value)
