"""The HTTP headers a rendition carries over from its source: a file name, and metadata.

``Content-Disposition`` follows RFC 6266 with an RFC 8187 ``filename*``: the header is
always pure ASCII, because botocore passes it through unchecked and a raw non-ASCII
value breaks the request signature on real S3 (moto accepts it and mangles it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from posixpath import basename
from urllib.parse import quote

# RFC 8187 attr-char besides letters and digits: what filename* may carry unescaped.
_ATTR_SAFE = "!#$&+-.^_`|~"
# What the plain filename="..." fallback keeps; everything else becomes '_'. No '"', '\\',
# ';' or controls, so the quoted string needs no escaping.
_FALLBACK_BAD = re.compile(r"[^A-Za-z0-9._ ()\[\]+,=@~!#$&'^`{}-]")
_MAX_NAME = 150


def rendition_filename(source_key: str, extension: str) -> str:
    """``images/cat.png`` as a ``webp`` -> ``cat.webp``: the source's name, the new type."""
    name = basename(source_key.replace("\\", "/"))
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return f"{stem or 'image'}.{extension}"


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """``inline; filename="cat.webp"``, plus ``filename*=UTF-8''...`` for other names."""
    name = _clean(filename)
    fallback = _ascii_fallback(name)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += "; filename*=UTF-8''" + quote(name, safe=_ATTR_SAFE, encoding="utf-8")
    return value


def _clean(name: str) -> str:
    name = unicodedata.normalize("NFC", name)
    # No controls or bidi overrides (a name that reads "gpj.exe" backwards), no leading dot.
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".") or "image"
    if len(name) > _MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        keep = _MAX_NAME - len(ext) - 1
        name = stem[:keep] + dot + ext if dot and len(ext) <= 10 else name[:_MAX_NAME]
    return name


def _ascii_fallback(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    folded = _FALLBACK_BAD.sub("_", folded)
    stem, dot, ext = folded.rpartition(".")
    if dot and not stem.strip("_ "):
        folded = "_" + dot + ext
    return folded.strip() or "image"


def carried_metadata(source: Mapping[str, str], allowed: Iterable[str]) -> dict[str, str]:
    """The source's user metadata whose names are allowed (names compare case-blind)."""
    wanted = {name.strip().lower() for name in allowed if name.strip()}
    return {k.lower(): v for k, v in source.items() if k.lower() in wanted}
