"""Every format looks the same: WebP and AVIF at their matched quality against the JPEG
q85 beside them, in SSIM against a float reference and in bytes, on a sample of corpus
photos (the full sweep is bench/parity.py); and the SSIM the serve page shows."""

from __future__ import annotations

import statistics
import sys

import numpy as np
import pytest

from support.helpers import REPO, corpus_bytes, corpus_file
from thumbsmith.core import RenderOptions, render, similarity
from thumbsmith.core import quality as Q
from thumbsmith.core.spec import parse_renditions

sys.path.insert(0, str(REPO / "bench"))
from ssim import LUMA, Reference, luma_of, ssim, ssim_jpeg  # the bench's SSIM

#: The issue's worst photo (fine foliage), a portrait, a phone photo turned by EXIF, a
#: wide-gamut one, a CMYK one: each at a large and a small box. Not imagers__cat.jpg at
#: 640: kept at its own size, its JPEG q85 is a copy of the source (SSIM 1.0000), which
#: bench/parity.py leaves out of the rule and prints apart.
SAMPLE = (
    "sharp__Landscape_1.jpg",
    "sharp__Portrait_1.jpg",
    "mei__Samsung_GT-I9000_orientation6.jpg",
    "mei__Canon_EOS_7D_adobergb.jpg",
    "thumbor__Giunchedi_cmyk_orientation6.jpg",
)
SPECS = parse_renditions("large=640:avif+webp+jpeg,thumb=160:avif+webp+jpeg")


def test_matched_webp_and_avif_keep_the_jpegs_ssim_at_fewer_bytes() -> None:
    gaps: dict[str, list[float]] = {"webp": [], "avif": []}
    ratios: dict[str, list[float]] = {"webp": [], "avif": []}
    for name in SAMPLE:
        ref = Reference(corpus_file(name))
        out = render(corpus_bytes(name), SPECS, RenderOptions())
        for spec in SPECS:
            got = {r.format: r for r in out.by_name(spec.name)}
            jpeg = ssim_jpeg(ref, got["jpeg"].data)
            for fmt in ("webp", "avif"):
                gaps[fmt].append(ssim_jpeg(ref, got[fmt].data) - jpeg)
                ratios[fmt].append(len(got[fmt].data) / len(got["jpeg"].data))
    for fmt in ("webp", "avif"):
        within = sum(g >= -0.005 for g in gaps[fmt]) / len(gaps[fmt])
        assert within >= 0.9, (fmt, gaps[fmt])
        assert min(gaps[fmt]) >= -0.02, (fmt, gaps[fmt])
    # At JPEG's SSIM, AVIF saves a quarter to a third of the bytes; WebP (effort 2) saves
    # none on these detailed photos (the sweep: 1.05-1.15x): bounds, not promises.
    assert statistics.median(ratios["avif"]) <= 0.8, ratios["avif"]
    assert statistics.median(ratios["webp"]) <= 1.25, ratios["webp"]


def test_match_encodes_at_the_tables_number_and_numbers_win() -> None:
    data = corpus_bytes("imagers__cat.jpg")
    small, large = Q.MATCHED["avif"]["small"], Q.MATCHED["avif"]["large"]
    default = render(data, parse_renditions("t=160:avif,l=1280:avif"), RenderOptions())
    pinned = render(data, parse_renditions(f"t=160:avif@{small},l=1280:avif@{large}"))
    assert [r.data for r in default] == [r.data for r in pinned]
    number = render(data, parse_renditions("t=160:avif"), RenderOptions(avif_quality=30))
    own = render(data, parse_renditions("t=160:avif@30"), RenderOptions(avif_quality=90))
    assert number[0].data == own[0].data != default[0].data
    assert len(number[0].data) < len(default[0].data)


def test_similarity_in_libvips_is_the_benchs_ssim() -> None:
    data = corpus_bytes("sharp__Landscape_1.jpg")
    specs = parse_renditions("a=480:avif+webp+jpeg")
    out = render(data, specs, RenderOptions())
    encoded = {(r.name, r.format): r.data for r in out}
    scores = similarity.scores(data, specs, RenderOptions(), encoded)
    pixels = similarity.pixels(data, specs, RenderOptions())["a"]
    array = np.ndarray(
        (pixels.height, pixels.width, pixels.bands), np.uint8, pixels.write_to_memory()
    )
    reference = array[..., :3].astype(np.float64) @ np.array(LUMA)
    assert set(scores) == {("a", "avif"), ("a", "webp"), ("a", "jpeg")}
    for (_, fmt), value in scores.items():
        assert value == pytest.approx(ssim(reference, luma_of(encoded["a", fmt])), abs=1e-4)
        assert 0.9 < value < 1.0
    same = similarity.luma(pixels)
    assert similarity.ssim(same, same) == pytest.approx(1.0)
