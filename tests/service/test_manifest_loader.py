"""THUMBSMITH_ORIGIN_PUBLIC_URL: the manifest names the on-demand URL pattern (``loader``)
only when it is set, spelled as the origin reads it, and valid under the schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from support.helpers import created, jpeg, photos_store, proc
from thumbsmith import settings as S
from thumbsmith.errors import ConfigError
from thumbsmith.service import manifest


def written(tmp_path: Path, key: str = "images/cat.jpg", **env: str) -> dict[str, Any]:
    store = photos_store(tmp_path)
    store.put("photos", key, jpeg(800, 600), content_type="image/jpeg")
    proc(store, **env).process(created(key))
    data, _ = store.get("photos-output", f"manifest/{key}.json")
    body: dict[str, Any] = json.loads(data)
    Draft202012Validator(manifest.schema()).validate(body)
    return body


def test_no_loader_unless_the_origin_url_is_set(tmp_path: Path) -> None:
    m = written(tmp_path, public_base_url="https://cdn.example.com/")
    assert "loader" not in m
    # Configs without it keep their manifest fingerprint: nothing is rewritten.
    assert manifest.fingerprint(
        {"a.jpeg": "1"}, key_template="t", base_url="", placeholders=True
    ) == manifest.fingerprint(
        {"a.jpeg": "1"}, key_template="t", base_url="", placeholders=True, origin_url=""
    )


@pytest.mark.parametrize("base", ["https://img.example.com", "https://img.example.com/"])
def test_loader_is_the_origin_url_img_the_key_and_a_width_slot(tmp_path: Path, base: str) -> None:
    m = written(tmp_path, origin_public_url=base)
    assert m["loader"] == "https://img.example.com/img/images/cat.jpg?w={width}"
    assert m["loader"].replace("{width}", "640").endswith("/img/images/cat.jpg?w=640")


def test_loader_key_is_percent_encoded_per_segment(tmp_path: Path) -> None:
    m = written(tmp_path, "images/summer 2024/café,1.jpg", origin_public_url="http://o.test/x/")
    assert m["loader"] == "http://o.test/x/img/images/summer%202024/caf%C3%A9%2C1.jpg?w={width}"


def test_setting_the_origin_url_changes_the_manifest_fingerprint(tmp_path: Path) -> None:
    store = photos_store(tmp_path)
    plain = proc(store)._manifest_fingerprint
    assert proc(store, origin_public_url="https://img.example.com/")._manifest_fingerprint != plain


@pytest.mark.parametrize(
    ("name", "value"),
    [("origin_public_url", "img.example.com"), ("origin_widths", "640,wide")],
)
def test_bad_values_stop_start_up_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        S.load(env={S.env_name(name): value})
