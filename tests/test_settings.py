from __future__ import annotations

from pathlib import Path

import pytest

from thumbsmith import settings as S
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.errors import ConfigError


def test_defaults_match_the_spec() -> None:
    s = S.load(env={})
    assert s.specs == (
        RenditionSpec("large", 1280, 1280),
        RenditionSpec("medium", 640, 640),
        RenditionSpec("thumb", 160, 160),
    )
    assert (s.quality, s.progressive, s.optimize, s.strip_metadata) == (85, True, True, True)
    assert s.background_rgb == (255, 255, 255)
    assert s.max_pixels == 100_000_000
    assert s.source_of("quality") == "default"


def test_env_overrides_file_overrides_default(tmp_path: Path) -> None:
    cfg = tmp_path / "t.toml"
    cfg.write_text('quality = 70\nrenditions = "a=100"\nbackground = "#000000"\n')
    s = S.load(env={"THUMBSMITH_QUALITY": "60"}, config_file=cfg)
    assert s.quality == 60 and s.source_of("quality") == "env"
    assert s.renditions == "a=100" and s.source_of("renditions") == str(cfg)
    assert s.background_rgb == (0, 0, 0)
    assert s.source_of("prefix") == "default"


def test_config_file_from_env_and_thumbsmith_table(tmp_path: Path) -> None:
    cfg = tmp_path / "t.toml"
    cfg.write_text('[thumbsmith]\nrenditions = "large=1280,medium=640,thumb=160x160"\n')
    s = S.load(env={"THUMBSMITH_CONFIG": str(cfg)})
    assert s.specs[-1] == RenditionSpec("thumb", 160, 160)


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("THUMBSMITH_QUALITY", "101", "'quality'"),
        ("THUMBSMITH_QUALITY", "high", "'quality'"),
        ("THUMBSMITH_PROGRESSIVE", "perhaps", "'progressive'"),
        ("THUMBSMITH_RENDITIONS", "large=abc", "'renditions'"),
        ("THUMBSMITH_RENDITIONS", "a=10,a=20", "unique"),
        ("THUMBSMITH_BACKGROUND", "white", "'background'"),
        ("THUMBSMITH_KEY_TEMPLATE", "{rendition}/{stem}.jpg", "'key_template'"),
        ("THUMBSMITH_KEY_TEMPLATE", "{rendition}/fixed.jpg", "{key}"),
        ("THUMBSMITH_MAX_PIXELS", "0", "'max_pixels'"),
        ("THUMBSMITH_QUALTY", "80", "unknown setting 'qualty'"),
    ],
)
def test_bad_values_name_the_setting(var: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        S.load(env={var: value})
    assert fragment in str(err.value)


def test_unknown_key_in_file(tmp_path: Path) -> None:
    cfg = tmp_path / "t.toml"
    cfg.write_text("colour = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        S.load(env={}, config_file=cfg)


def test_every_setting_is_documented_and_has_env_var() -> None:
    rows = S.describe(S.load(env={}))
    assert {r["name"] for r in rows} == {f.name for f in S.fields()}
    for row in rows:
        assert row["help"].strip(), row["name"]
        assert row["env"] == "THUMBSMITH_" + row["name"].upper()
    md = S.render_markdown()
    for row in rows:
        assert f"`{row['env']}`" in md


def test_docs_settings_md_is_generated_from_the_module() -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "settings.md"
    assert doc.read_text() == S.render_markdown(), (
        "run: thumbsmith config --markdown > docs/settings.md"
    )


def test_replace_validates() -> None:
    s = S.load(env={})
    assert s.replace(prefix="photos/").prefix == "photos/"
    with pytest.raises(ConfigError):
        s.replace(quality=0)
