"""The manifest's main group (srcset, next, astro, eleventy) comes from the config, the
same for every source: not from whichever rendition of this source came out largest."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from support.helpers import created, jpeg, photos_store, proc
from thumbsmith import settings as S
from thumbsmith.errors import ConfigError
from thumbsmith.service import manifest

FITS = "large=1000,hero=1600x500:cover,logo=512:contain:png,thumb=160"
SHAPES = [(4000, 1000), (1000, 2000), (600, 400), (1200, 1200)]


def png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 30, 30, 128)).save(buf, "PNG")
    return buf.getvalue()


def manifests(tmp_path: Path, **env: str) -> list[dict[str, Any]]:
    store = photos_store(tmp_path)
    out = []
    for i, (w, h) in enumerate(SHAPES):
        key = f"images/{i}.jpg"
        store.put("photos", key, jpeg(w, h, seed=i), content_type="image/jpeg")
        proc(store, renditions=FITS, **env).process(created(key))
        data, _ = store.get("photos-output", f"manifest/{key}.json")
        out.append(json.loads(data))
    return out


def main_names(m: dict[str, Any]) -> set[str]:
    """The renditions the main srcset and next/astro were taken from."""
    urls = {c.split(" ")[0] for srcset in m["srcset"].values() for c in srcset.split(", ")}
    urls |= {m["next"]["src"], m["astro"]["src"]}
    return {r["name"] for r in m["renditions"] if r["url"] in urls}


def test_default_main_group_is_the_largest_box_for_every_source(tmp_path: Path) -> None:
    for m in manifests(tmp_path):
        assert main_names(m) == {"large", "thumb"}, m["srcset"]
        assert m["srcset"] == m["srcsets"]["inside"]
        assert set(m["eleventy"]["jpeg"][i]["outputPath"] for i in (0, 1)) == {
            f"thumb/{m['source']['key']}.jpg", f"large/{m['source']['key']}.jpg",
        }  # fmt: skip


def test_manifest_main_names_the_main_rendition(tmp_path: Path) -> None:
    for m in manifests(tmp_path, manifest_main="hero"):
        assert main_names(m) == {"hero"}, m["srcset"]
        assert m["srcset"] == m["srcsets"]["cover-16x5"]
        assert abs(m["next"]["width"] / m["next"]["height"] - 16 / 5) < 0.02


def test_a_source_whose_rule_leaves_out_the_main_group_gets_its_own(tmp_path: Path) -> None:
    store = photos_store(tmp_path)
    store.put("photos", "logos/a.png", png(300, 200), content_type="image/png")
    p = proc(store, renditions=FITS, rules="logos/=logo", manifest_main="large")
    p.process(created("logos/a.png"))
    m = json.loads(store.get("photos-output", "manifest/logos/a.png.json")[0])
    assert main_names(m) == {"logo"} and m["next"]["src"] == "logo/logos/a.png.png"


def test_an_unknown_manifest_main_stops_startup() -> None:
    with pytest.raises(ConfigError) as err:
        S.load(env={"THUMBSMITH_RENDITIONS": FITS, "THUMBSMITH_MANIFEST_MAIN": "banner"})
    assert str(err.value).startswith("setting 'manifest_main' (THUMBSMITH_MANIFEST_MAIN")
    assert "large, hero, logo, thumb" in str(err.value)


@pytest.mark.parametrize("renditions", [S.Settings().renditions, "a=1280:webp+jpeg,b=320"])
def test_one_group_configs_keep_their_manifest_fingerprint(tmp_path: Path, renditions: str) -> None:
    """Every rendition `inside`: the choice changes nothing, and the fingerprint (which
    would make every manifest be rewritten) is the one it always was."""
    p = proc(photos_store(tmp_path), renditions=renditions)
    assert p._manifest_fingerprint == manifest.fingerprint(
        {f"{n}.{f}": fp for (n, f), fp in p.fingerprints.items()},
        key_template="{rendition}/{key}.{ext}",
        base_url="",
        placeholders=True,
    )


def test_changing_the_main_group_rewrites_the_manifests(tmp_path: Path) -> None:
    store = photos_store(tmp_path)
    fingerprints = {
        main: proc(store, renditions=FITS, manifest_main=main)._manifest_fingerprint
        for main in ("", "large", "hero")
    }
    assert fingerprints[""] == fingerprints["large"] != fingerprints["hero"]
