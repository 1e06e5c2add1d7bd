"""Rendition boxes and names (issue 22): width-only and height-only boxes (``1280x``,
``x600``, as sharp's ``resize({width})``), one message for every bad box, no quality
for PNG, and names unique ignoring case."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from thumbsmith import cli
from thumbsmith import settings as S
from thumbsmith.core import RenderOptions, RenditionSpec, render
from thumbsmith.core.spec import (
    MAX_BOX,
    format_renditions,
    format_spec,
    parse_renditions,
    parse_spec,
    plan_size,
    renditions_from_tables,
)
from thumbsmith.errors import ConfigError, SpecError
from thumbsmith.service.manifest import fit_group

BOX_MESSAGE = "use W (a W x W box), WxH, Wx (width only) or xH (height only), each side 1..16384 px"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 100, 50)).save(buf, "PNG")
    return buf.getvalue()


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thumbsmith.toml"
    path.write_text(text)
    return path


# --- the grammar ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("box", "width", "height"),
    [("1280", 1280, 1280), ("400x300", 400, 300), ("1280x", 1280, None), ("x600", None, 600)],
)
def test_box_forms_in_the_compact_form_and_toml(
    tmp_path: Path, box: str, width: int | None, height: int | None
) -> None:
    (spec,) = parse_renditions(f"large={box}")
    assert (spec.width, spec.height) == (width, height)
    s = S.load(env={}, config_file=toml(tmp_path, f'[renditions.large]\nbox = "{box}"\n'))
    assert s.specs == (spec,)
    assert format_spec(spec) == f"large={box}"  # and back
    assert parse_spec(format_spec(spec)) == spec


def test_a_one_sided_box_round_trips_with_its_tokens() -> None:
    text = "wide=1280x:avif@45+webp+jpeg:upscale,tall=x600:webp,thumb=160,card=400x300:cover"
    assert format_renditions(parse_renditions(text)) == text
    tables = {"wide": {"box": "1280x", "formats": ["webp"]}, "tall": {"box": "x600"}}
    assert format_renditions(renditions_from_tables(tables)) == "wide=1280x:webp,tall=x600"


def test_w_still_means_a_square_box() -> None:
    """Changing it would re-render every user's renditions: 1280x is the width-only form."""
    (large,) = parse_renditions("large=1280")
    assert large == RenditionSpec("large", 1280, 1280)
    assert large.size_for(3000, 4000) == (960, 1280)
    assert parse_spec("large=1280x").size_for(3000, 4000) == (1280, 1707)


@pytest.mark.parametrize(
    ("box", "upscale", "source", "out"),
    [
        ("1280x", False, (4000, 3000), (1280, 960)),
        ("1280x", False, (3000, 4000), (1280, 1707)),  # the srcset's 1280w, whatever the shape
        ("1280x", False, (800, 600), (800, 600)),  # never enlarged
        ("1280x", True, (800, 600), (1280, 960)),
        ("x600", False, (4000, 3000), (800, 600)),
        ("x600", False, (3000, 4000), (450, 600)),
        ("x600", True, (40, 30), (800, 600)),
        # the omitted side is still bounded by MAX_BOX
        ("1280x", True, (10, 10000), (16, MAX_BOX)),
        ("x600", False, (40000, 1000), (MAX_BOX, 410)),
    ],
)
def test_one_sided_boxes_bound_only_their_side(
    box: str, upscale: bool, source: tuple[int, int], out: tuple[int, int]
) -> None:
    spec = dataclasses.replace(parse_spec(f"a={box}"), upscale=upscale)
    assert spec.size_for(*source) == out


@pytest.mark.parametrize("fit", ["cover", "contain", "fill"])
@pytest.mark.parametrize("box", ["1280x", "x600"])
def test_fits_that_fill_a_box_refuse_a_one_sided_one(tmp_path: Path, fit: str, box: str) -> None:
    with pytest.raises(ConfigError) as err:
        S.load(env={"THUMBSMITH_RENDITIONS": f"hero={box}:{fit}"})
    message = str(err.value)
    assert f"rendition 'hero': box {box!r}" in message and f"fit {fit!r}" in message
    assert "WxH" in message
    with pytest.raises(ConfigError, match=r"'hero': box '.*' is not valid; fit '.*' fills a box"):
        S.load(
            env={},
            config_file=toml(tmp_path, f'[renditions.hero]\nbox = "{box}"\nfit = "{fit}"\n'),
        )
    with pytest.raises(SpecError, match="both sides"):  # a spec built in code, unchecked
        render(_png(), [RenditionSpec("hero", 1280, None, fit)])
    with pytest.raises(SpecError, match="both sides"):
        plan_size(RenditionSpec("hero", 1280, None, fit), 100, 100)


def test_a_width_only_rendition_renders_that_wide() -> None:
    buf = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((1500, 2000)).save(buf, "JPEG")
    out = render(buf.getvalue(), parse_renditions("large=1280x,medium=640x,thumb=x160"))
    assert [(r.name, r.width, r.height) for r in out] == [
        ("large", 1280, 1707),
        ("medium", 640, 853),
        ("thumb", 120, 160),
    ]


# --- fingerprints, manifest groups, `thumbsmith config` --------------------------------------
def _fingerprint(spec: tuple[object, ...]) -> str:
    payload = {
        "spec": spec,
        "quality": 85,
        "progressive": True,
        "optimize": True,
        "background": (255, 255, 255),
        "strip": True,
        "v": 1,
    }
    return hashlib.sha256(repr(sorted(payload.items())).encode()).hexdigest()[:16]


def test_existing_boxes_keep_their_fingerprints_and_one_sided_ones_get_their_own() -> None:
    options = RenderOptions()
    for text, spec in [("large=1280", ("large", 1280, 1280)), ("card=400x300", ("card", 400, 300))]:
        assert options.fingerprint(parse_spec(text)) == _fingerprint(spec)
    wide = options.fingerprint(parse_spec("large=1280x"))
    assert wide == _fingerprint(("large", 1280, None))
    assert wide != options.fingerprint(parse_spec(f"large=1280x{MAX_BOX}"))
    assert options.fingerprint(parse_spec("large=x1280")) == _fingerprint(("large", None, 1280))


def test_one_sided_renditions_share_the_inside_srcset() -> None:
    specs = parse_renditions("large=1280x,medium=640,tall=x600,card=400x300:cover")
    assert [fit_group(s) for s in specs] == ["inside", "inside", "inside", "cover-4x3"]


def test_config_prints_one_sided_boxes(capsys: pytest.CaptureFixture[str]) -> None:
    env_text = "large=1280x:webp+jpeg,tall=x600,thumb=160"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THUMBSMITH_RENDITIONS", env_text)
        assert cli.main(["config"]) == 0
    out = capsys.readouterr().out
    assert "large: 1280x (width only) inside, webp+jpeg" in out
    assert "tall: x600 (height only) inside, jpeg" in out
    assert "thumb: 160x160 inside, jpeg" in out


# --- one message for every bad box ------------------------------------------------------------
BAD_BOXES = ["", "x", "0", "16385", "0x300", "1280x0", "x16385", "abc", "12.5", "1280x600x", "-5"]


@pytest.mark.parametrize("box", BAD_BOXES)
def test_every_bad_box_gets_the_one_message_with_the_range(tmp_path: Path, box: str) -> None:
    with pytest.raises(ConfigError) as err:
        S.load(env={"THUMBSMITH_RENDITIONS": f"card={box}:webp"})
    assert f"rendition 'card': box {box!r} is not valid; {BOX_MESSAGE}" in str(err.value)
    with pytest.raises(ConfigError) as err:
        S.load(env={}, config_file=toml(tmp_path, f'[renditions.card]\nbox = "{box}"\n'))
    assert f"rendition 'card': box {box!r} is not valid; {BOX_MESSAGE}" in str(err.value)


# --- no quality for PNG ---------------------------------------------------------------------
def test_png_with_a_quality_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'logo'.*quality of png.*'80'.*PNG is lossless"):
        S.load(env={"THUMBSMITH_RENDITIONS": "logo=256:contain:png@80"})
    cfg = '[renditions.logo]\nbox = "256"\nformats = ["png", "webp"]\nquality = {png = 80}\n'
    with pytest.raises(ConfigError, match="PNG is lossless"):
        S.load(env={}, config_file=toml(tmp_path, cfg))
    # one number is for the lossy formats, as before
    cfg = '[renditions.logo]\nbox = "256"\nformats = ["png", "webp"]\nquality = 70\n'
    (logo,) = S.load(env={}, config_file=toml(tmp_path, cfg)).specs
    assert logo.quality == (("webp", 70),)


# --- names, ignoring case -------------------------------------------------------------------
@pytest.mark.parametrize("text", ["large=1280,Large=640", "thumb=160,THUMB=80"])
def test_names_differing_only_by_case_are_a_duplicate(text: str) -> None:
    with pytest.raises(ConfigError, match="unique, ignoring case"):
        S.load(env={"THUMBSMITH_RENDITIONS": text})


def test_names_differing_only_by_case_are_a_duplicate_in_toml(tmp_path: Path) -> None:
    cfg = '[renditions.large]\nbox = "1280"\n[renditions.LARGE]\nbox = "640"\n'
    with pytest.raises(ConfigError, match="unique, ignoring case"):
        S.load(env={}, config_file=toml(tmp_path, cfg))


@pytest.mark.parametrize("name", ["manifest", "Manifest", "MANIFEST"])
def test_manifest_is_reserved_in_any_case(name: str) -> None:
    with pytest.raises(ConfigError, match=f"{name!r} is reserved"):
        S.load(env={"THUMBSMITH_RENDITIONS": f"large=1280,{name}=100"})
