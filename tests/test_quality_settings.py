"""Matched quality as settings and fingerprints: ``"match"`` by default, numbers win, and a
rerun rewrites only the formats (and size classes) whose quality changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from thumbsmith import cli
from thumbsmith import settings as S
from thumbsmith.core import quality as Q
from thumbsmith.core.options import RenderOptions
from thumbsmith.core.spec import parse_renditions
from thumbsmith.errors import ConfigError
from thumbsmith.runners.bootstrap import render_options

W4 = parse_renditions(
    "large=1280:avif+webp+jpeg,medium=640,thumb=160:avif+webp+jpeg,card=400:cover:attention:webp"
)
LARGE, MEDIUM, THUMB, CARD = W4

#: The fingerprints the previous release wrote (WebP q79, AVIF q50 defaults), for W4.
BEFORE = {
    ("large", "avif"): "1387252d20cf10fb",
    ("large", "webp"): "08c03ff5e4e3e925",
    ("large", "jpeg"): "56d39c5ed5f6002f",
    ("medium", "jpeg"): "968b325f4153d841",
    ("thumb", "avif"): "cba99921a604dcde",
    ("thumb", "webp"): "ebccd3507857fb62",
    ("thumb", "jpeg"): "5ce139f2fb9a6a1c",
    ("card", "webp"): "304be1275d3c5a67",
}


def fingerprints(options: RenderOptions) -> dict[tuple[str, str], str]:
    return {(s.name, f): options.fingerprint(s, f) for s in W4 for f in s.formats}


def test_match_is_the_default_and_config_shows_what_each_format_gets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    s = S.load(env={})
    assert (s.webp_quality, s.avif_quality, s.quality) == ("match", "match", 85)
    options = render_options(s)
    assert options.quality_for(THUMB, "avif") == Q.MATCHED["avif"]["small"]
    assert options.quality_for(LARGE, "webp") == Q.MATCHED["webp"]["large"]
    assert options.quality_for(LARGE, "jpeg") == 85

    monkeypatch.setenv("THUMBSMITH_RENDITIONS", "large=1280:avif+webp+jpeg,thumb=160:avif@45+png")
    assert cli.main(["config"]) == 0
    out = capsys.readouterr().out
    large = Q.MATCHED["avif"]["large"], Q.MATCHED["webp"]["large"]
    assert f"avif {large[0]} (match, large), webp {large[1]} (match, large), jpeg 85" in out
    assert "avif 45 (avif@45), png lossless" in out
    assert f"avif match: {Q.MATCHED['avif']['small']} (small: box <= 320 px)" in out


@pytest.mark.parametrize(
    ("raw", "value"), [("match", "match"), (" MATCH ", "match"), ("45", 45), ("100", 100)]
)
def test_a_number_or_match_from_the_environment(raw: str, value: object) -> None:
    s = S.load(env={"THUMBSMITH_AVIF_QUALITY": raw})
    assert s.avif_quality == value
    assert render_options(s).avif_quality == value


def test_a_number_from_the_settings_file(tmp_path: Path) -> None:
    cfg = tmp_path / "t.toml"
    cfg.write_text('webp_quality = 70\navif_quality = "match"\n')
    options = render_options(S.load(env={}, config_file=cfg))
    assert options.quality_for(LARGE, "webp") == 70
    assert options.quality_for(LARGE, "avif") == Q.MATCHED["avif"]["large"]


@pytest.mark.parametrize("raw", ["0", "101", "best", "7.5", ""])
def test_anything_else_stops_start_up_naming_the_setting(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"'webp_quality'.*THUMBSMITH_WEBP_QUALITY"):
        S.load(env={"THUMBSMITH_WEBP_QUALITY": raw})


def test_a_renditions_own_quality_wins_over_a_number_and_match() -> None:
    spec = parse_renditions("t=160:avif@45+webp")[0]
    assert RenderOptions().quality_for(spec, "avif") == 45
    assert RenderOptions(avif_quality=70).quality_for(spec, "avif") == 45
    assert RenderOptions(webp_quality=70).quality_for(spec, "webp") == 70


def test_jpeg_fingerprints_are_unchanged_and_the_old_numbers_give_the_old_ones() -> None:
    now = fingerprints(RenderOptions())
    assert {k: v for k, v in now.items() if k[1] == "jpeg"} == {
        k: v for k, v in BEFORE.items() if k[1] == "jpeg"
    }
    # Someone who pinned the old defaults rewrites nothing.
    assert fingerprints(RenderOptions(webp_quality=79, avif_quality=50)) == BEFORE


def test_the_formats_whose_default_changed_get_new_fingerprints() -> None:
    now = fingerprints(RenderOptions())
    for (name, fmt), before in BEFORE.items():
        changed = fmt != "jpeg"
        assert (now[name, fmt] != before) is changed, (name, fmt)


def test_a_changed_table_row_rewrites_only_its_format_and_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = fingerprints(RenderOptions())
    table = {fmt: dict(row) for fmt, row in Q.MATCHED.items()}
    table["avif"]["small"] += 1
    monkeypatch.setattr(Q, "MATCHED", table)
    after = fingerprints(RenderOptions())
    assert {k for k in before if before[k] != after[k]} == {("thumb", "avif")}


def test_size_classes_go_by_the_box() -> None:
    assert [Q.size_class(b, b) for b in (16, 160, 320, 321, 400, 1280)] == [
        "small",
        "small",
        "small",
        "large",
        "large",
        "large",
    ]
    assert Q.size_class(1280, 200) == "large"  # the longer side
