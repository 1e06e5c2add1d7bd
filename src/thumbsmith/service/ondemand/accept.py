"""``f=auto``: one output format from the request's ``Accept`` header (RFC 9110 §12.5.1).

The candidates are a rendition's formats in the configured order of preference (default
AVIF, WebP, JPEG; a source with alpha prefers the formats that keep it, so PNG comes
before JPEG). A newer format (one the registry ranks above PNG: WebP, AVIF) is chosen
only when ``Accept`` names its MIME type with a q above 0, as Next.js and imgproxy do: a
client that sends ``*/*`` (curl, an old browser, a crawler) may not decode AVIF, so
wildcards vouch only for JPEG and PNG. Among the acceptable candidates the highest q wins,
ties going to the preferred order. When nothing is acceptable the most widely shown
candidate is served anyway: an image that may not show beats a 406 that never does.

Pure: the edge's CloudFront Function implements the same rules, checked against the same
vectors (``tests/vectors/``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from thumbsmith.core.formats import OUTPUT, single_url_order

#: The default order of preference for ``f=auto``.
DEFAULT_ORDER = ("avif", "webp", "jpeg", "png")
#: Formats any image client shows; a wildcard in ``Accept`` vouches only for these.
UNIVERSAL_RANK = 1
#: RFC 9110 §12.4.2 ``qvalue``, ASCII digits only: float() would also take "1e-1", "inf"
#: and other scripts' digits, which the edge's JavaScript reads differently.
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


def parse_accept(header: str) -> dict[str, float]:
    """``{media range: q}``; a q outside RFC 9110's grammar counts as 0, a repeated range
    keeps its first."""
    ranges: dict[str, float] = {}
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media or "/" not in media:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                text = value.strip()
                q = float(text) if _QVALUE.fullmatch(text) else 0.0
        ranges.setdefault(media, q)
    return ranges


def quality_of(fmt: str, ranges: dict[str, float]) -> float:
    """The q the client gives ``fmt``: its exact type's, else (for a universal format) the
    most specific wildcard's."""
    mime = OUTPUT[fmt].mime
    if mime in ranges:
        return ranges[mime]
    if OUTPUT[fmt].support_rank > UNIVERSAL_RANK:
        return 0.0
    for wildcard in (mime.split("/")[0] + "/*", "*/*"):
        if wildcard in ranges:
            return ranges[wildcard]
    return 0.0


def preference(
    formats: Sequence[str], has_alpha: bool, order: Sequence[str] = DEFAULT_ORDER
) -> list[str]:
    """``formats`` in the order they are offered: ``order`` first, then the rest; with
    alpha, those that keep it before those that do not."""
    ranked = [f for f in order if f in formats] + [f for f in formats if f not in order]
    if has_alpha:
        ranked = [f for f in ranked if OUTPUT[f].alpha] + [f for f in ranked if not OUTPUT[f].alpha]
    return ranked


def negotiate(
    accept: str | None,
    formats: Sequence[str],
    *,
    has_alpha: bool = False,
    order: Sequence[str] = DEFAULT_ORDER,
) -> str:
    """The format to serve for ``Accept: accept`` among ``formats`` (never empty)."""
    if not formats:
        raise ValueError("negotiate needs at least one format")
    ranked = preference(formats, has_alpha, order)
    ranges = parse_accept(accept or "*/*")
    best, best_q = "", 0.0
    for fmt in ranked:
        q = quality_of(fmt, ranges)
        if q > best_q:
            best, best_q = fmt, q
    if best:
        return best
    fallback = [f for f in single_url_order(has_alpha) if f in formats]
    return fallback[0] if fallback else ranked[0]
