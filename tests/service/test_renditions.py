"""Renditions through settings and process(): TOML tables and the compact form, rules per
prefix, keys per (rendition, format), idempotence per format, removal, the focal point."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support.helpers import created, jpeg, photos_store, proc, size_of
from thumbsmith import cli
from thumbsmith import settings as S
from thumbsmith.adapters.storage.local import META_DIR, LocalStore
from thumbsmith.core.spec import RenditionSpec, parse_renditions
from thumbsmith.errors import ConfigError
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.rules import Rule, Rules, parse_rules

TOML = """
[renditions.large]
box = "1280"
formats = ["avif", "webp", "jpeg"]

[renditions.card]
box = "400x300"
fit = "cover"
position = "attention"
formats = ["webp", "jpeg"]

[[rules]]
prefix = "avatars/"
renditions = ["card"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thumbsmith.toml"
    path.write_text(text)
    return path


# --- settings ----------------------------------------------------------------------------
def test_toml_tables_give_the_renditions_and_rules(tmp_path: Path) -> None:
    s = S.load(env={}, config_file=write(tmp_path, TOML))
    assert s.specs == (
        RenditionSpec("large", 1280, 1280, formats=("avif", "webp", "jpeg")),
        RenditionSpec("card", 400, 300, "cover", "attention", ("webp", "jpeg")),
    )
    assert s.rule_list == (Rule("avatars/", ("card",)),)
    assert s.prefixes == ("images/", "avatars/")
    # the compact form says the same
    assert parse_renditions(s.renditions) == s.specs


def test_compact_form_with_every_token() -> None:
    (card, thumb) = parse_renditions("card=400x300:cover:attention:webp@70+jpeg:upscale,thumb=160")
    assert card == RenditionSpec(
        "card", 400, 300, "cover", "attention", ("webp", "jpeg"), True, quality=(("webp", 70),)
    )
    assert thumb == RenditionSpec("thumb", 160, 160)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("card=400x300:cover:atention", ["'card'", "token", "'atention'"]),
        ("card=400x300:cover:webp+gif", ["'card'", "format", "'gif'"]),
        ("card=400x300:webp@0", ["'card'", "quality of webp", "'0'"]),
        ("card=400x300:entropy", ["'card'", "position", "'entropy'", "cover"]),
        ("card=400:cover:fill", ["'card'", "fit", "'fill'"]),
        ("card=400:jpeg:animated", ["'card'", "animated", "webp"]),
        ("card=0x300", ["'card'", "box", "'0x300'"]),
    ],
)
def test_bad_compact_spec_names_rendition_field_and_value(text: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        S.load(env={"THUMBSMITH_RENDITIONS": text})
    for fragment in fragments:
        assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("table", "fragments"),
    [
        ('box = "400"\nfit = "crop"', ["'card'", "fit", "'crop'"]),
        ('box = "400"\nformats = "webp"', ["'card'", "formats", "'webp'"]),
        ('box = "400"\nformats = ["webp", "heic"]', ["'card'", "format", "'heic'"]),
        ('box = "400"\nquality = {avif = 45}', ["'card'", "quality", "'avif'"]),
        ('box = "400"\nupscale = "yes"', ["'card'", "upscale", "'yes'"]),
        ('box = "400"\ncolour = "red"', ["'card'", "field", "'colour'"]),
        ('fit = "cover"', ["'card'", "box"]),
    ],
)
def test_bad_toml_spec_names_rendition_field_and_value(
    tmp_path: Path, table: str, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as err:
        S.load(env={}, config_file=write(tmp_path, f"[renditions.card]\n{table}\n"))
    for fragment in fragments:
        assert fragment in str(err.value)


def test_rules_must_name_defined_renditions(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'avatars/'.*'cardx'"):
        S.load(env={"THUMBSMITH_RULES": "avatars/=cardx"})
    bad = TOML.replace('renditions = ["card"]', 'renditions = "card"')
    with pytest.raises(ConfigError, match="renditions 'card' is not a list"):
        S.load(env={}, config_file=write(tmp_path, bad))


def test_several_formats_need_ext_in_the_key_template() -> None:
    with pytest.raises(ConfigError, match=r"key_template.*\{ext\}"):
        S.load(
            env={
                "THUMBSMITH_RENDITIONS": "large=1280:webp+jpeg",
                "THUMBSMITH_KEY_TEMPLATE": "{rendition}/{key}",
            }
        )


def test_config_command_shows_parsed_renditions_and_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--config", str(write(tmp_path, TOML)), "config"]) == 0
    out = capsys.readouterr().out
    assert "large: 1280x1280 inside, avif+webp+jpeg" in out
    assert "card: 400x300 cover, webp+jpeg, attention" in out
    assert "'avatars/': card" in out


# --- rules -------------------------------------------------------------------------------
def test_longest_prefix_wins_and_no_match_gets_everything() -> None:
    rules = Rules(parse_rules("a/=card;a/b/=thumb+card;c/=large"))
    every = ("large", "card", "thumb")
    assert rules.names_for("a/x.jpg", every) == ("card",)
    assert rules.names_for("a/b/x.jpg", every) == ("card", "thumb")
    assert rules.names_for("c/x.jpg", every) == ("large",)
    assert rules.names_for("images/x.jpg", every) == every


# --- process -----------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return photos_store(tmp_path)


SET = "large=320:webp+jpeg,card=100x80:cover:webp+jpeg,thumb=64"


def test_keys_per_rendition_and_format(store: LocalStore) -> None:
    store.put("photos", "images/cat.png", jpeg(640, 480), content_type="image/png")
    out = proc(store, renditions=SET).process(created("images/cat.png"))
    got = {w.key: (w.format, w.width, w.height) for w in out.renditions}
    assert got == {
        "large/images/cat.png.webp": ("webp", 320, 240),
        "large/images/cat.png.jpg": ("jpeg", 320, 240),
        "card/images/cat.png.webp": ("webp", 100, 80),
        "card/images/cat.png.jpg": ("jpeg", 100, 80),
        "thumb/images/cat.png.jpg": ("jpeg", 64, 48),
    }
    for w in out.renditions:
        data, info = store.get("photos-output", w.key)
        assert w.bytes == len(data) and size_of(data) == (w.width, w.height)
        assert info.content_type == f"image/{w.format}"


def test_changing_one_rendition_rerenders_only_it(store: LocalStore) -> None:
    store.put("photos", "images/cat.jpg", jpeg(640, 480), content_type="image/jpeg")
    assert proc(store, renditions=SET).process(created("images/cat.jpg")).status == "written"
    again = proc(store, renditions=SET).process(created("images/cat.jpg"))
    assert again.status == "skipped"
    changed = SET.replace("card=100x80:cover", "card=100x80:cover:entropy")
    out = proc(store, renditions=changed).process(created("images/cat.jpg"))
    assert sorted(w.key for w in out.renditions) == [
        "card/images/cat.jpg.jpg",
        "card/images/cat.jpg.webp",
    ]
    # a new format, or another WebP quality, touches the WebPs alone
    more = changed.replace("thumb=64", "thumb=64:avif+jpeg")
    out = proc(store, renditions=more, webp_quality="60").process(created("images/cat.jpg"))
    assert sorted(w.key for w in out.renditions) == [
        "card/images/cat.jpg.webp",
        "large/images/cat.jpg.webp",
        "thumb/images/cat.jpg.avif",
    ]


def test_removal_deletes_every_format_of_every_rendition(store: LocalStore, tmp_path: Path) -> None:
    store.put("photos", "images/cat.jpg", jpeg(640, 480), content_type="image/jpeg")
    p = proc(store, renditions=SET)
    p.process(created("images/cat.jpg"))
    store.delete("photos", "images/cat.jpg")
    out = p.process(ObjectEvent("photos", "images/cat.jpg", EventKind.REMOVED))
    assert out.status == "deleted" and len(out.deleted) == 5
    assert not [f for f in (tmp_path / "photos-output").rglob("*") if f.is_file()]


def test_rules_pick_renditions_and_add_their_prefixes(store: LocalStore) -> None:
    env = {"renditions": SET, "rules": "avatars/=card"}
    store.put("photos", "avatars/me.jpg", jpeg(640, 480), content_type="image/jpeg")
    store.put("photos", "images/cat.jpg", jpeg(640, 480), content_type="image/jpeg")
    store.put("photos", "other/x.jpg", jpeg(640, 480), content_type="image/jpeg")
    p = proc(store, **env)
    avatar = p.process(created("avatars/me.jpg"))
    assert sorted(w.key for w in avatar.renditions) == [
        "card/avatars/me.jpg.jpg",
        "card/avatars/me.jpg.webp",
    ]
    assert len(p.process(created("images/cat.jpg")).renditions) == 5  # no rule: every one
    assert p.process(created("other/x.jpg")).status == "ignored"


def test_recursion_guard_covers_every_rule_prefix(store: LocalStore) -> None:
    p = proc(
        store,
        renditions=SET,
        rules="card/=card",
        output_bucket="photos",
        key_template="{rendition}/{key}.{ext}",
    )
    store.put("photos", "images/x.jpg", jpeg(), content_type="image/jpeg")
    with pytest.raises(ConfigError, match=r"recursion guard.*'card/'"):
        p.process(created("images/x.jpg"))


def _subject_right() -> bytes:
    image = np.full((300, 600, 3), 128, np.uint8)
    image[100:200, 480:580] = (255, 0, 0)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def _red_fraction(data: bytes) -> float:
    px = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)
    return float(((px[..., 0] > 200) & (px[..., 1] < 60)).mean())


def _set_focus(root: Path, key: str, focus: str) -> None:
    """The local bucket's metadata record: where S3 keeps x-amz-meta-focus."""
    record = root / META_DIR / "photos" / f"{key}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"metadata": {"focus": focus}}))


def test_focus_metadata_moves_the_crop(store: LocalStore, tmp_path: Path) -> None:
    store.put("photos", "images/a.png", _subject_right(), content_type="image/png")
    p = proc(store, renditions="sq=300:cover")
    p.process(created("images/a.png"))
    centred = store.get("photos-output", "sq/images/a.png.jpg")[0]
    assert _red_fraction(centred) == 0
    _set_focus(tmp_path, "images/a.png", "0.88,0.5")
    store.delete("photos-output", "sq/images/a.png.jpg")
    p.process(created("images/a.png"))
    focused = store.get("photos-output", "sq/images/a.png.jpg")[0]
    assert _red_fraction(focused) == pytest.approx(100 * 100 / 300 / 300, abs=0.01)


def test_bad_focus_is_a_warning_not_a_failure(
    store: LocalStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store.put("photos", "images/a.png", _subject_right(), content_type="image/png")
    _set_focus(tmp_path, "images/a.png", "left,top")
    with caplog.at_level(logging.WARNING, logger="thumbsmith"):
        out = proc(store, renditions="sq=300:cover").process(created("images/a.png"))
    assert out.status == "written"
    assert "focus 'left,top'" in caplog.text


def test_convert_focus_option(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(_subject_right())
    out = tmp_path / "out"
    code = cli.main(
        ["--renditions", "sq=300:cover", "convert", str(src), "-o", str(out), "--focus", "0.88,0.5"]
    )
    assert code == 0
    assert _red_fraction((out / "sq" / "a.png.jpg").read_bytes()) > 0.1


def test_backfill_lists_every_rule_prefix(store: LocalStore, tmp_path: Path) -> None:
    from thumbsmith.runners.backfill import events
    from thumbsmith.runners.target import parse_target

    for key in ("images/a.jpg", "avatars/b.jpg", "images/avatars/c.jpg", "other/d.jpg"):
        store.put("photos", key, b"x", content_type="image/jpeg")
    settings = S.load(env={"THUMBSMITH_RENDITIONS": SET, "THUMBSMITH_RULES": "avatars/=card"})
    keys = [e.key for e in events(parse_target(str(tmp_path / "photos")), settings)]
    assert sorted(keys) == ["avatars/b.jpg", "images/a.jpg", "images/avatars/c.jpg"]
    nested = settings.replace(rules="images/avatars/=card")  # covered by images/: listed once
    keys = [e.key for e in events(parse_target(str(tmp_path / "photos")), nested)]
    assert sorted(keys) == ["images/a.jpg", "images/avatars/c.jpg"]
