"""The manifest: one JSON object per source that says what was made, written last.

Its presence in the output bucket means every rendition it lists is there and current.
Besides the facts (source, renditions with keys, sizes and bytes, the placeholder) it
carries what front-ends take as they are: per format a ``srcset`` of the renditions that
share a fit, Next.js's ``StaticImageData`` (``next``), Astro's ``ImageMetadata``
(``astro``) and 11ty Image's per-format arrays (``eleventy``). The JSON Schema is
``manifest.schema.json`` beside this module; docs/manifest.md documents it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from posixpath import basename
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from thumbsmith.core.formats import OUTPUT, single_url_order
from thumbsmith.core.result import SourceFacts
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.service.ondemand import signing
from thumbsmith.service.renditions import StoredRendition

if TYPE_CHECKING:
    from thumbsmith.core.placeholder import Placeholder  # loads pyvips: type only

VERSION = 1
SCHEMA_ID = "https://thumbsmith.dev/schemas/manifest/v1.json"
CONTENT_TYPE = "application/json"
CACHE_CONTROL = "no-cache"  # rewritten in place when the source changes
#: Object metadata of the manifest: "pending" until every notifier took the event.
META_NOTIFIED = "thumbsmith-notified"

#: Formats Astro's ImageMetadata cannot name.
_NOT_ASTRO = frozenset({"avif"})


@dataclass(frozen=True, slots=True)
class SourceInfo:
    bucket: str
    key: str
    etag: str
    bytes: int
    content_type: str | None = None


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every manifest validates against."""
    text = resources.files(__package__).joinpath("manifest.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def fit_group(spec: RenditionSpec) -> str:
    """Renditions that may share a ``srcset``: the same fit, and for a fixed-shape fit
    (cover, contain, fill) the same box shape, so every candidate has one aspect ratio."""
    # A one-sided box (``1280x``) is fit inside: the source's shape, like any inside box.
    if spec.fit == "inside" or spec.width is None or spec.height is None:
        return "inside"
    g = math.gcd(spec.width, spec.height)
    return f"{spec.fit}-{spec.width // g}x{spec.height // g}"


def _box_area(spec: RenditionSpec) -> int:
    """A one-sided box (``1280x``) counts as the square of its side."""
    side = spec.width or spec.height or 0
    return (spec.width or side) * (spec.height or side)


def main_group(specs: Sequence[RenditionSpec], main: str = "") -> str:
    """The group whose renditions give ``srcset``, ``next``, ``astro`` and ``eleventy``:
    that of the rendition named ``main``, else of the rendition with the largest box
    (the first in the config on a tie). Chosen from the config, so every source gets
    the same one (a source's largest rendition would be the 16:5 hero crop for one
    source and the padded logo square for another)."""
    named = [s for s in specs if s.name == main]
    if named:
        return fit_group(named[0])
    return fit_group(max(specs, key=_box_area)) if specs else "inside"


def fingerprint(
    renditions: Mapping[str, str],
    *,
    key_template: str,
    base_url: str,
    placeholders: bool,
    main: str | None = None,
    origin_url: str = "",
) -> str:
    """What the manifest's content depends on besides the source: each rendition's name
    and fingerprint, where the keys go, the URL prefix, the layout version, the main
    group where there is a choice (``None`` where every rendition shares one group, so
    such configs keep the fingerprint they had before it could be chosen) and the
    origin's URL where there is a ``loader`` (likewise left out when there is none)."""
    parts: tuple[object, ...] = (
        sorted(renditions.items()), key_template, base_url, placeholders, VERSION
    )  # fmt: skip
    if main is not None:
        parts += (main,)
    if origin_url:
        parts += (("loader", origin_url),)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def build(
    source: SourceInfo,
    facts: SourceFacts,
    entries: Sequence[StoredRendition],
    specs: Sequence[RenditionSpec],
    *,
    output_bucket: str,
    manifest_key: str,
    placeholder: Placeholder | None,
    base_url: str = "",
    main: str = "",
    origin_url: str = "",
) -> dict[str, Any]:
    """``specs``: the config's renditions; ``main``: the setting ``manifest_main``;
    ``origin_url``: the setting ``origin_public_url`` (empty: no ``loader``)."""
    groups = {spec.name: fit_group(spec) for spec in specs}
    renditions = [_rendition(e, groups.get(e.name, "inside"), base_url) for e in entries]
    by_group: dict[str, list[dict[str, Any]]] = {}
    for r in renditions:
        by_group.setdefault(r["fit"], []).append(r)
    primary = main_group(specs, main)
    if primary not in by_group:
        # A rule gave this source none of the main group: the main group of its own.
        made = {e.name for e in entries}
        primary = main_group([s for s in specs if s.name in made])
    srcsets = {group: _srcsets(items) for group, items in by_group.items()}
    manifest: dict[str, Any] = {
        "$schema": SCHEMA_ID,
        "version": VERSION,
        "source": {
            "bucket": source.bucket,
            "key": source.key,
            "etag": source.etag,
            "bytes": source.bytes,
            "format": facts.format,
            "width": facts.width,
            "height": facts.height,
            "has_alpha": facts.has_alpha,
            "frames": facts.frames,
        },
        "output_bucket": output_bucket,
        "manifest_key": manifest_key,
        "renditions": renditions,
        "srcset": srcsets.get(primary, {}),
        "srcsets": srcsets,
    }
    if source.content_type:
        manifest["source"]["content_type"] = source.content_type
    if origin_url:
        manifest["loader"] = loader(origin_url, source.key)
    if placeholder is not None:
        manifest["placeholder"] = {
            "thumbhash": placeholder.thumbhash,
            "color": placeholder.color,
            "data_uri": placeholder.data_uri,
            "data_uri_width": placeholder.data_uri_width,
            "data_uri_height": placeholder.data_uri_height,
        }
    manifest.update(_front_ends(by_group.get(primary, []), facts.has_alpha, placeholder))
    return manifest


def _rendition(entry: StoredRendition, group: str, base_url: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": entry.name,
        "format": entry.format,
        "key": entry.key,
        "content_type": OUTPUT[entry.format].mime,
        "width": entry.width,
        "height": entry.height,
        "bytes": entry.bytes,
        "fit": group,
        "url": url(base_url, entry.key),
    }
    if entry.etag:
        item["etag"] = entry.etag
    return item


def base_prefix(base_url: str) -> str:
    """``base_url`` ending in exactly the one ``/`` that joins it to a key
    (``https://cdn.example.com`` -> ``https://cdn.example.com/``); empty stays empty."""
    return base_url if not base_url or base_url.endswith("/") else base_url + "/"


def url(base_url: str, key: str) -> str:
    """``base_url``, a ``/``, then the key, percent-encoded: a space or comma in a key
    would split a srcset candidate, and a URL is ASCII."""
    return base_prefix(base_url) + quote(key, safe="/!$&'()*+;=:@~")


def loader(origin_url: str, source_key: str) -> str:
    """The on-demand URL of ``source_key`` at any width, ``{width}`` left for the
    front-end to fill in: ``https://img.example.com/img/images/cat.jpg?w={width}``. The
    key is spelled as the origin signs it (each segment percent-encoded); no ``f=``, so
    the origin picks the format from ``Accept`` (and answers ``Vary: Accept``)."""
    path = "/".join(signing.encode(segment) for segment in source_key.split("/"))
    return f"{base_prefix(origin_url)}{signing.PREFIX.lstrip('/')}{path}?w={{width}}"


def _by_format(items: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per format, ascending width, one candidate per width (srcset forbids repeats)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for item in sorted(items, key=lambda r: (r["width"], r["bytes"])):
        same = out.setdefault(item["format"], [])
        if not same or same[-1]["width"] != item["width"]:
            same.append(item)
    return out


def _srcsets(items: Iterable[dict[str, Any]]) -> dict[str, str]:
    return {
        fmt: ", ".join(f"{r['url']} {r['width']}w" for r in same)
        for fmt, same in _by_format(items).items()
    }


def _largest_in(items: Sequence[dict[str, Any]], order: Sequence[str]) -> dict[str, Any] | None:
    for fmt in order:
        same = [r for r in items if r["format"] == fmt]
        if same:
            return max(same, key=lambda r: r["width"] * r["height"])
    return None


def _front_ends(
    primary: Sequence[dict[str, Any]], has_alpha: bool, placeholder: Placeholder | None
) -> dict[str, Any]:
    # Which format a single-URL consumer (next's src, astro) gets: the most widely
    # shown; with alpha, one that keeps it.
    order = single_url_order(has_alpha)
    out: dict[str, Any] = {}
    main = _largest_in(primary, order)
    if main is not None:
        nxt: dict[str, Any] = {"src": main["url"], "width": main["width"], "height": main["height"]}
        if placeholder is not None:
            nxt |= {
                "blurDataURL": placeholder.data_uri,
                "blurWidth": placeholder.data_uri_width,
                "blurHeight": placeholder.data_uri_height,
            }
        out["next"] = nxt
    astro = _largest_in(primary, [f for f in order if f not in _NOT_ASTRO])
    if astro is not None:
        out["astro"] = {
            "src": astro["url"],
            "width": astro["width"],
            "height": astro["height"],
            "format": astro["format"],
        }
    out["eleventy"] = {
        fmt: [
            {
                "format": fmt,
                "width": r["width"],
                "height": r["height"],
                "url": r["url"],
                "sourceType": r["content_type"],
                "srcset": f"{r['url']} {r['width']}w",
                "filename": basename(r["key"]),
                "outputPath": r["key"],
                "size": r["bytes"],
            }
            for r in same
        ]
        for fmt, same in _by_format(primary).items()
    }
    return out


def deleted(bucket: str, key: str, keys: Sequence[str], manifest_key: str) -> dict[str, Any]:
    """The detail of a ``Renditions Deleted`` event."""
    return {
        "version": VERSION,
        "deleted": True,
        "source": {"bucket": bucket, "key": key},
        "manifest_key": manifest_key,
        "keys": list(keys),
    }


def encode(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
