"""The parameters of an on-demand request, and the one spelling of an ad-hoc rendition.

``/img/{source key}?w=&h=&fit=&pos=&q=&f=&exp=&s=`` asks for any box (signed);
``/img/{source key}?p=NAME[&f=]`` for a configured rendition. :func:`parse_query` checks
the query before any work (unknown or repeated parameters, numbers out of range, a
format the origin does not make) and raises :class:`BadRequest` naming what is wrong.

An ad-hoc rendition is named by :attr:`AdHoc.id`, the canonical option string
``w640-h480-cover-attention-q75``: sides present, the fit always, the position for
``cover`` only (it moves nothing else), the quality when given. Two requests that mean the
same rendition (``?w=640`` and ``?fit=inside&w=640``) get one id, so one stored object
and one cache entry. The id is the rendition's name and part of its key
(``_ondemand/{key}/{id}.{ext}``); :func:`parse_id` reads it back, which is how the origin
answers a CDN that asks for that key after a miss in the bucket.

The CloudFront Function at the edge (``deploy/cloudfront/viewer-request.js``) implements
the same rules, checked against the same vectors (``tests/vectors/``).

Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from thumbsmith.core.formats import OUTPUT, OUTPUT_NAMES
from thumbsmith.core.spec import FITS, POSITIONS, RenditionSpec
from thumbsmith.errors import BadRequest
from thumbsmith.service.ondemand.signing import EXPIRES, SIGNATURE

#: Every parameter an ``/img/`` request may carry, in the order the docs list them.
PARAMS = ("p", "w", "h", "fit", "pos", "q", "f", EXPIRES, SIGNATURE)
#: ``f=auto``: the format is chosen from ``Accept``.
AUTO = "auto"
#: The header the edge adds to an ad-hoc request it checked (see :func:`edge_mark`).
EDGE_HEADER = "x-thumbsmith-edge"
_EDGE_CONTEXT = "thumbsmith-edge:"
_ID = re.compile(
    r"^(?:w(\d{1,5}))?(?:-?h(\d{1,5}))?-([a-z]+)(?:-([a-z]+))?(?:-q(\d{1,3}))?$", re.ASCII
)


@dataclass(frozen=True, slots=True)
class Limits:
    """What an ad-hoc request may ask for (``THUMBSMITH_ORIGIN_MAX_*``)."""

    max_side: int = 4096
    max_pixels: int = 16_777_216
    max_quality: int = 100
    formats: tuple[str, ...] = ("jpeg", "webp", "avif", "png")
    #: Widths anyone may ask for unsigned as ``?w=W[&f=]`` (fit inside), as Next.js's
    #: ``deviceSizes`` + ``imageSizes``: a front-end's loader asks for any of them without
    #: a secret, and the set of objects a stranger can make stays bounded.
    widths: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AdHoc:
    """A box, fit, position and quality asked for by URL; the format apart (it may be
    ``auto`` until ``Accept`` is read)."""

    width: int | None
    height: int | None
    fit: str = "inside"
    position: str = "center"
    quality: int | None = None

    @property
    def id(self) -> str:
        parts = [f"w{self.width}" if self.width else "", f"h{self.height}" if self.height else ""]
        parts = [p for p in parts if p] + [self.fit]
        if self.fit == "cover":
            parts.append(self.position)
        if self.quality is not None:
            parts.append(f"q{self.quality}")
        return "-".join(parts)

    def unsigned_ok(self, limits: Limits) -> bool:
        """Whether this is ``?w=W`` with ``W`` in the unsigned widths (no signature)."""
        return self.width in limits.widths and (self.height, self.fit, self.quality) == (
            None,
            "inside",
            None,
        )

    def spec(self, fmt: str) -> RenditionSpec:
        """The rendition this asks for, in one format (upscaling off, as named ones)."""
        quality = ((fmt, self.quality),) if self.quality is not None and OUTPUT[fmt].lossy else ()
        return RenditionSpec(
            self.id, self.width, self.height, self.fit, self.position, (fmt,), quality=quality
        )


@dataclass(frozen=True, slots=True)
class Query:
    """A checked ``/img/`` query: a named rendition (``preset``) or an ad-hoc one."""

    format: str  # a format name, or AUTO
    preset: str | None = None
    adhoc: AdHoc | None = None
    params: Mapping[str, str] | None = None  # as given, for the signature check


def parse_query(pairs: Sequence[tuple[str, str]], limits: Limits) -> Query:
    """Check ``pairs`` (the query, decoded, in order) and say what they ask for."""
    params = _unique(pairs)
    fmt = _format(params.get("f", AUTO), limits)
    if "p" in params:
        extra = sorted(set(params) - {"p", "f"})
        if extra:
            raise BadRequest(f"p= names a configured rendition; leave out {', '.join(extra)}")
        return Query(fmt, preset=params["p"], params=params)
    width = _side(params, "w", limits)
    height = _side(params, "h", limits)
    if width is None and height is None:
        raise BadRequest("give w=, h= or both (or p= for a configured rendition)")
    fit = _choice(params, "fit", FITS, "inside")
    position = _choice(params, "pos", POSITIONS, "center")
    if fit != "inside" and (width is None or height is None):
        raise BadRequest(f"fit={fit} fills a box of both sides: give w= and h=")
    if "pos" in params and fit != "cover":
        raise BadRequest("pos= applies to fit=cover only")
    if width and height and width * height > limits.max_pixels:
        raise BadRequest(f"w x h is over the limit of {limits.max_pixels} pixels")
    quality = _quality(params, fmt, limits)
    return Query(fmt, adhoc=AdHoc(width, height, fit, position, quality), params=params)


def parse_id(text: str) -> AdHoc | None:
    """The ad-hoc rendition an id names, or ``None`` when ``text`` is not one this module
    spells (so a key built by hand, or by another version's rules, never renders)."""
    match = _ID.match(text)
    if not match:
        return None
    w, h, fit, pos, q = match.groups()
    if fit not in FITS or (pos is not None and (fit != "cover" or pos not in POSITIONS)):
        return None
    if fit == "cover" and pos is None:
        return None
    adhoc = AdHoc(
        int(w) if w else None, int(h) if h else None, fit, pos or "center", int(q) if q else None
    )
    return adhoc if adhoc.id == text else None


def edge_mark(output_key: str, key: str | bytes) -> str:
    """What the edge sends in :data:`EDGE_HEADER` for an ad-hoc key it checked the
    signature of: base64url(HMAC-SHA256(key, ``"thumbsmith-edge:" + output_key``)), no
    padding. The origin renders an ``_ondemand/`` key only with a mark from one of its
    keys, so nobody can have it render arbitrary boxes by asking for keys directly."""
    raw = key.encode("utf-8") if isinstance(key, str) else key
    digest = hmac.new(raw, (_EDGE_CONTEXT + output_key).encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def edge_mark_ok(output_key: str, mark: str | None, keys: Sequence[str | bytes]) -> bool:
    """Whether ``mark`` is :func:`edge_mark` of ``output_key`` under one of ``keys``
    (every key tried, each comparison constant-time)."""
    if not mark:
        return False
    given = mark.encode("utf-8", "replace")
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(edge_mark(output_key, key).encode(), given)
    return ok


def _unique(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    unknown = sorted({k for k, _ in pairs if k not in PARAMS})
    if unknown:
        raise BadRequest(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"use {', '.join(PARAMS)}"
        )
    params = dict(pairs)
    if len(params) < len(pairs):
        # Named in sorted order, not by where they repeat: the edge sees the query as one
        # field per name (CloudFront's querystring object) and must say the same.
        names = sorted({k for k, _ in pairs if sum(1 for n, _ in pairs if n == k) > 1})
        many = len(names) > 1
        raise BadRequest(
            f"parameter{'s' if many else ''} {', '.join(names)} {'are' if many else 'is'} "
            "given twice"
        )
    return params


def _format(raw: str, limits: Limits) -> str:
    text = raw.strip().lower()
    if text == AUTO:
        return AUTO
    fmt = OUTPUT_NAMES.get(text, "")
    if fmt not in limits.formats:
        raise BadRequest(f"f={raw} is not a format this origin makes; use {AUTO}, "
                         f"{', '.join(limits.formats)}")  # fmt: skip
    return fmt


def _side(params: Mapping[str, str], name: str, limits: Limits) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not _digits(raw) or not 1 <= int(raw) <= limits.max_side:
        raise BadRequest(f"{name}={raw} is not a whole number of pixels in 1..{limits.max_side}")
    return int(raw)


def _digits(raw: str) -> bool:
    # ASCII only: str.isdigit() also holds for "²" (int() then raises) and for other
    # scripts' digits ("١٢" is 12), which the edge's JavaScript twin does not read.
    return raw.isascii() and raw.isdigit()


def _choice(params: Mapping[str, str], name: str, choices: Sequence[str], default: str) -> str:
    raw = params.get(name, default)
    if raw not in choices:
        raise BadRequest(f"{name}={raw} is not valid; use {', '.join(choices)}")
    return raw


def _quality(params: Mapping[str, str], fmt: str, limits: Limits) -> int | None:
    raw = params.get("q")
    if raw is None:
        return None
    if not _digits(raw) or not 1 <= int(raw) <= limits.max_quality:
        raise BadRequest(f"q={raw} is not a quality in 1..{limits.max_quality}")
    if fmt != AUTO and not OUTPUT[fmt].lossy:
        raise BadRequest(f"q= means nothing for {fmt}, which is lossless")
    return int(raw)
