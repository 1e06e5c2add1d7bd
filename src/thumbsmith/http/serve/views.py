"""What the page shows about one source, from the manifest when there is one.

:func:`source_view` hides where the facts came from: the manifest in the output bucket
(placeholder, renditions, source facts, as ``process()`` recorded them) or, for sources
rendered before manifests existed, the output bucket itself (every rendition key the key
template can give, read from the files). To go manifest-only, drop the fallback in
:func:`source_view`.
"""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.core.formats import FORMAT_OF_EXTENSION, INPUT
from thumbsmith.errors import ThumbsmithError
from thumbsmith.service.keys import KeyMapper

if TYPE_CHECKING:
    from thumbsmith.service.process import ProcessConfig

#: Enough of a source to read its header; sniff reads fixed fields near the start.
_HEADER_BYTES = 1 << 20

_cache_lock = threading.Lock()
_cache: dict[tuple[str, int, int], Any] = {}


def manifest_key(keys: KeyMapper, bucket: str, key: str) -> str:
    """Where the manifest of ``key`` lives in the output bucket (under the key template)."""
    return keys.manifest_key(bucket, key)


def browser_can_show(fmt: object) -> bool:
    """Whether a browser shows a source of this format as it is (HEIC, TIFF, EPS: no)."""
    return isinstance(fmt, str) and fmt in INPUT and INPUT[fmt].browser


def media_type(fmt: str | None) -> str:
    """The MIME type of a sniffed source format, for serving the file as it is."""
    return INPUT[fmt].mime if fmt in INPUT else "application/octet-stream"


def file_url(which: str, key: str, version: object = "") -> str:
    """The page's URL of a file in the source or output bucket folder."""
    url = f"/files/{which}/{quote(key)}"
    return f"{url}?v={quote(str(version))}" if version else url


def source_view(store: LocalStore, keys: KeyMapper, bucket: str, key: str) -> dict[str, Any]:
    """The card of one source: ``source``, ``renditions``, ``placeholder``, ``manifest``."""
    return _from_manifest(store, keys, bucket, key) or _from_output_bucket(store, keys, bucket, key)


def read_manifest(store: LocalStore, keys: KeyMapper, bucket: str, key: str) -> Any:
    """The parsed manifest of a source, or ``None`` when there is none (or it is unreadable)."""
    out_bucket = keys.output_bucket(bucket)
    try:
        path = store.path(out_bucket, manifest_key(keys, bucket, key))
        return json.loads(path.read_bytes())
    except (ThumbsmithError, OSError, ValueError):
        return None


def _from_manifest(
    store: LocalStore, keys: KeyMapper, bucket: str, key: str
) -> dict[str, Any] | None:
    manifest = read_manifest(store, keys, bucket, key)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("renditions"), list):
        return None
    src = manifest.get("source") or {}
    facts = _source_facts(store, bucket, key)
    renditions = [
        {
            "name": r["name"],
            "format": r["format"],
            "key": r["key"],
            "width": r["width"],
            "height": r["height"],
            "bytes": r["bytes"],
            "url": file_url("output", r["key"], r.get("etag", "")),
        }
        for r in manifest["renditions"]
    ]
    # Not the manifest's width and height: those are of the upright image, and the card
    # shows the stored size beside the EXIF orientation.
    facts.update({k: src[k] for k in ("format", "orientation") if k in src})
    facts["browser_can_show"] = browser_can_show(facts.get("format"))
    return {
        "key": key,
        "source": facts,
        "renditions": renditions,
        "placeholder": manifest.get("placeholder"),
        "manifest": file_url("output", manifest_key(keys, bucket, key)),
    }


def _from_output_bucket(
    store: LocalStore, keys: KeyMapper, bucket: str, key: str
) -> dict[str, Any]:
    out_bucket = keys.output_bucket(bucket)
    renditions: list[dict[str, Any]] = []
    for name in keys.rendition_names:
        for ext, fmt in FORMAT_OF_EXTENSION.items():
            out_key = keys.output_key(bucket, key, name, ext)
            try:
                path = store.path(out_bucket, out_key)
                stat = path.stat()
            except (ThumbsmithError, OSError):
                continue
            size = _image_size(path, stat.st_mtime_ns, stat.st_size)
            if size is None:
                continue  # being replaced, or not an image we wrote
            renditions.append(
                {
                    "name": name,
                    "format": fmt,
                    "key": out_key,
                    "width": size[0],
                    "height": size[1],
                    "bytes": stat.st_size,
                    "url": file_url("output", out_key, stat.st_mtime_ns),
                }
            )
    smallest = min(renditions, key=lambda r: r["width"] * r["height"], default=None)
    placeholder = None
    if smallest is not None:
        colour = _mean_colour(store.path(out_bucket, smallest["key"]))
        placeholder = {"color": colour} if colour else None
    return {
        "key": key,
        "source": _source_facts(store, bucket, key),
        "renditions": renditions,
        "placeholder": placeholder,
        "manifest": None,
    }


def _cached(path: Path, mtime_ns: int, size: int, kind: str, compute: Any) -> Any:
    """Header reads per file version: the page polls, the files rarely change."""
    token = (f"{kind}:{path}", mtime_ns, size)
    with _cache_lock:
        if token in _cache:
            return _cache[token]
    value = compute()
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[token] = value
    return value


def _source_facts(store: LocalStore, bucket: str, key: str) -> dict[str, Any]:
    from thumbsmith.core.decoders.sniff import sniff

    facts: dict[str, Any] = {"key": key, "url": file_url("source", key)}
    try:
        path = store.path(bucket, key)
        stat = path.stat()
    except (ThumbsmithError, OSError):
        return facts

    def read() -> dict[str, Any]:
        try:
            with path.open("rb") as fh:
                head = fh.read(_HEADER_BYTES)
            header = sniff(head)
        except (ThumbsmithError, OSError):  # not an image, or deleted since the listing
            return {}
        return {
            "format": header.format,
            "width": header.width,
            "height": header.height,
            "orientation": _orientation(path),
        }

    facts.update(_cached(path, stat.st_mtime_ns, stat.st_size, "source", read))
    facts["bytes"] = stat.st_size
    facts["url"] = file_url("source", key, stat.st_mtime_ns)
    facts["browser_can_show"] = browser_can_show(facts.get("format"))
    return facts


def _orientation(path: Path) -> int:
    """EXIF orientation (1 when there is none): the stored size is sideways for 5-8."""
    from PIL import Image

    # Any failure means "no usable EXIF": the page only labels the size with it.
    with contextlib.suppress(Exception), Image.open(path) as img:
        return int(img.getexif().get(0x0112, 1))
    return 1


def _image_size(path: Path, mtime_ns: int, size: int) -> tuple[int, int] | None:
    from thumbsmith.core.decoders.sniff import sniff

    def read() -> tuple[int, int] | None:
        try:
            header = sniff(path.read_bytes())
        except (ThumbsmithError, OSError):
            return None
        return header.width, header.height

    result: tuple[int, int] | None = _cached(path, mtime_ns, size, "size", read)
    return result


def _mean_colour(path: Path) -> str | None:
    """The placeholder colour of a source without a manifest: its smallest rendition's mean."""

    def read() -> str | None:
        from PIL import Image

        with contextlib.suppress(OSError, ValueError), Image.open(path) as img:
            r, g, b = img.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # type: ignore[misc]
            return f"#{r:02x}{g:02x}{b:02x}"
        return None

    try:
        stat = path.stat()
    except OSError:
        return None
    colour: str | None = _cached(path, stat.st_mtime_ns, stat.st_size, "colour", read)
    return colour


def with_similarity(
    store: LocalStore, bucket: str, key: str, view: dict[str, Any], config: ProcessConfig
) -> None:
    """Add to each rendition of ``view`` its SSIM against the pixels it was encoded from
    (``ssim``) and, beside a JPEG of the same rendition, the difference (``ssim_gap``).

    For the detail view: the source is rendered again without encoding, once per file
    version (seconds for a large photo), and a failure leaves the view as it was.
    """
    from thumbsmith.service.similarity import stored_scores

    lossy = [r for r in view["renditions"] if r["format"] in ("jpeg", "webp", "avif")]
    try:
        path = store.path(bucket, key)
        stat = path.stat()
        out_bucket = config.keys.output_bucket(bucket)
        files = {(r["name"], r["format"]): store.path(out_bucket, r["key"]) for r in lossy}
        version = tuple(sorted((n, f, p.stat().st_mtime_ns) for (n, f), p in files.items()))
    except (ThumbsmithError, OSError):
        return
    outputs = {(r["name"], r["format"]): r["key"] for r in lossy}

    def compute() -> dict[tuple[str, str], float]:
        return stored_scores(store, config, bucket, key, outputs)

    scores: dict[tuple[str, str], float] = _cached(
        path, stat.st_mtime_ns, stat.st_size, f"similarity:{version}", compute
    )
    for r in lossy:
        value = scores.get((r["name"], r["format"]))
        jpeg = scores.get((r["name"], "jpeg"))
        if value is not None:
            r["ssim"] = round(value, 4)
            if jpeg is not None and r["format"] != "jpeg":
                r["ssim_gap"] = round(value - jpeg, 4)
