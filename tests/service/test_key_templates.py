"""Key templates that would put two outputs of one source at one key, leave the output
folder, or make renditions re-trigger processing stop start-up with one line naming the
setting, instead of overwriting files or failing every object on its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.helpers import jpeg
from thumbsmith import settings as S
from thumbsmith.errors import ConfigError

ENV = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}


def load(**env: str) -> S.Settings:
    return S.load(env={f"THUMBSMITH_{k.upper()}": v for k, v in env.items()})


@pytest.mark.parametrize(
    ("env", "fix"),
    [
        # large, medium and thumb (all JPEG) at one key: the last one wins.
        ({"key_template": "{key}.{ext}"}, "add '{rendition}'"),
        ({"key_template": "{key}"}, "add '{rendition}'"),
        # One rendition, but the manifest would overwrite it.
        ({"key_template": "{key}", "renditions": "large=1280"}, "the manifest"),
        ({"key_template": "out/{key}.jpg", "renditions": "large=1280"}, "the manifest"),
        # Two formats of one rendition.
        ({"key_template": "{rendition}/{key}", "renditions": "a=100:webp+jpeg"}, "add '{ext}'"),
    ],
)
def test_two_outputs_of_one_source_at_one_key_is_a_startup_error(
    env: dict[str, str], fix: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load(**env)
    message = str(err.value)
    assert message.startswith("setting 'key_template' (THUMBSMITH_KEY_TEMPLATE, from env)")
    assert fix in message and "\n" not in message


@pytest.mark.parametrize(
    ("env", "keys"),
    [
        # One rendition in several formats, and the manifest: jpg, webp, json tell them apart.
        (
            {"key_template": "{key}.{ext}", "renditions": "large=1280:webp+jpeg"},
            {"images/a.jpg.webp", "images/a.jpg.jpg", "images/a.jpg.json"},
        ),
        # Renditions of one format, each in its own folder; the manifest in its own.
        (
            {"key_template": "{rendition}/{key}"},
            {"large/images/a.jpg", "medium/images/a.jpg", "thumb/images/a.jpg"}
            | {"manifest/images/a.jpg"},
        ),
    ],
)
def test_templates_that_keep_outputs_apart_are_accepted(
    env: dict[str, str], keys: set[str]
) -> None:
    mapper = load(**env).key_mapper
    specs = load(**env).specs
    made = set(mapper.format_keys("photos", "images/a.jpg", specs).values())
    assert made | {mapper.manifest_key("photos", "images/a.jpg")} == keys


@pytest.mark.parametrize(
    "template",
    [
        "../{rendition}/{key}.{ext}",
        "{rendition}/../{key}.{ext}",
        "./{rendition}/{key}.{ext}",
        "{rendition}//{key}.{ext}",
        "{rendition}/{key}.{ext}/",
        "{rendition}/{key}/..",
    ],
)
def test_templates_making_dot_or_empty_segments_are_refused(template: str) -> None:
    with pytest.raises(ConfigError, match=r"'key_template'.*'\.\.' segment"):
        load(key_template=template)


def test_an_unknown_placeholder_is_refused_naming_every_known_one() -> None:
    with pytest.raises(ConfigError, match=r"\['name'\]; use rendition, key, ext, bucket$"):
        load(key_template="{name}/{key}.{ext}")
    # {bucket} is one of them: the source bucket.
    keys = load(key_template="{bucket}/{rendition}/{key}.{ext}").key_mapper
    assert keys.output_key("photos", "images/a.jpg", "large") == "photos/large/images/a.jpg.jpg"


@pytest.mark.parametrize(
    "env",
    [
        {"output_bucket": "{bucket}", "prefix": ""},
        {"output_bucket": "{bucket}", "key_template": "images/{rendition}/{key}.{ext}"},
        {"output_bucket": "{bucket}", "key_template": "{key}.{rendition}.{ext}"},
        {"output_bucket": "{bucket}", "rules": "thumb/=thumb", "key_template": "{rendition}/{key}"},
    ],
)
def test_output_bucket_always_the_source_bucket_recursing_is_a_startup_error(
    env: dict[str, str],
) -> None:
    with pytest.raises(ConfigError) as err:
        load(**env)
    assert str(err.value).startswith("setting 'output_bucket' (THUMBSMITH_OUTPUT_BUCKET")
    assert "recursion guard" in str(err.value)


def test_same_bucket_with_a_disjoint_prefix_still_loads() -> None:
    s = load(output_bucket="{bucket}", key_template="thumbs/{rendition}/{key}.{ext}")
    s.key_mapper.check_no_recursion("photos")


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "thumbsmith", *args],
        capture_output=True,
        text=True,
        env={**ENV, **env},
        timeout=120,
        check=False,
    )


def test_convert_with_a_colliding_template_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(jpeg(300, 200))
    r = run("convert", str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out"),
            THUMBSMITH_KEY_TEMPLATE="{key}.{ext}")  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "THUMBSMITH_KEY_TEMPLATE" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["backfill", "sync", "watch", "serve"])
def test_a_fixed_output_bucket_that_is_the_source_stops_the_cli_at_startup(
    tmp_path: Path, command: str
) -> None:
    """Only the runner knows the source bucket: with THUMBSMITH_OUTPUT_BUCKET=photos and
    the bucket folder photos, it says so once, before it touches any object."""
    (tmp_path / "photos" / "images").mkdir(parents=True)
    (tmp_path / "photos" / "images" / "a.jpg").write_bytes(jpeg(64, 64))
    r = run(command, str(tmp_path / "photos"), THUMBSMITH_OUTPUT_BUCKET="photos",
            THUMBSMITH_KEY_TEMPLATE="images/{rendition}/{key}.{ext}")  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("thumbsmith: configuration error: recursion guard")
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert sorted(p.name for p in (tmp_path / "photos" / "images").iterdir()) == ["a.jpg"]
