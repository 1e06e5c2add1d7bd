"""What an ``/img/`` request becomes: the one decision both the edge and the origin make.

``decide`` turns ``/img/{source key}?...`` and its ``Accept`` header into either an
answer given at once (400, 403, 404 with a reason) or the **output key** to serve: a named
rendition's key under the key template (``large/images/cat.jpg.webp``), or an ad-hoc
one's under the on-demand template (``_ondemand/images/cat.jpg/w640-inside.webp``). The
origin then serves that key from the output store, or renders it there (a miss). The
CloudFront Function rewrites the request to the same key, so the bucket answers first and
the cache key holds only it; for an ad-hoc key it adds :func:`~.params.edge_mark`, the
origin's proof that the signature was checked (the query never reaches the origin).

The JavaScript twin is ``deploy/cloudfront/viewer-request.js``; ``tests/vectors/`` holds
the cases both must decide alike.

Pure: no I/O; ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from thumbsmith.core.formats import EXTENSIONS
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.errors import BadRequest, UnsafeKey
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ondemand import accept, signing
from thumbsmith.service.ondemand.params import AUTO, AdHoc, Limits, edge_mark, parse_query
from thumbsmith.service.ports import check_key

#: Where ad-hoc renditions go, source key first: one prefix delete clears every variant.
DEFAULT_ADHOC_TEMPLATE = "_ondemand/{key}/{id}.{ext}"


@dataclass(frozen=True, slots=True)
class RequestRules:
    """Everything a decision depends on, from the settings."""

    keys: KeyMapper
    bucket: str  # the source bucket (``{bucket}`` in templates)
    renditions: Mapping[str, RenditionSpec]
    limits: Limits = field(default_factory=Limits)
    order: tuple[str, ...] = accept.DEFAULT_ORDER
    signing_keys: tuple[str, ...] = ()
    adhoc_template: str = DEFAULT_ADHOC_TEMPLATE

    def adhoc_key(self, source_key: str, rendition_id: str, fmt: str) -> str:
        # {key} last: a source key may itself contain "{id}" or "{ext}".
        return (
            self.adhoc_template.replace("{id}", rendition_id)
            .replace("{ext}", EXTENSIONS[fmt])
            .replace("{bucket}", self.bucket)
            .replace("{key}", source_key)
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """``status`` 200: serve ``output_key`` (render ``spec`` into it on a miss); anything
    else is the answer, ``reason`` its text."""

    status: int
    reason: str = ""
    output_key: str = ""
    format: str = ""
    spec: RenditionSpec | None = None
    auto: bool = False  # the format came from Accept: the answer varies on it
    mark: str = ""  # the edge mark, for a signed ad-hoc key
    adhoc: AdHoc | None = None  # what an ad-hoc key asks for (None: a named rendition)

    @property
    def ok(self) -> bool:
        return self.status == 200


def decide(
    source_key: str,
    pairs: Sequence[tuple[str, str]],
    accept_header: str | None,
    now: float,
    rules: RequestRules,
    *,
    has_alpha: bool = False,
) -> Decision:
    """The decision for ``/img/{source_key}?{pairs}`` (both decoded). ``has_alpha``: the
    origin may know it (the edge never does), so ``f=auto`` can keep PNG for it."""
    try:
        check_key(source_key)
        query = parse_query(pairs, rules.limits)
    except (UnsafeKey, BadRequest) as err:
        return Decision(400, str(err))
    if not rules.keys.accepts(source_key) or rules.keys.is_own_output(rules.bucket, source_key):
        return Decision(404, f"{source_key!r} is not under a source prefix this origin serves")
    if query.preset is not None:
        return _named(source_key, query.preset, query.format, accept_header, rules, has_alpha)
    assert query.adhoc is not None and query.params is not None
    unsigned = query.adhoc.unsigned_ok(rules.limits) and not {"s", "exp"} & set(query.params)
    refused = None if unsigned else _check_signature(source_key, query.params, now, rules)
    if refused is not None:
        return refused
    auto = query.format == AUTO
    fmt = (
        accept.negotiate(
            accept_header, rules.limits.formats, has_alpha=has_alpha, order=rules.order
        )
        if auto
        else query.format
    )
    spec = query.adhoc.spec(fmt)
    key = rules.adhoc_key(source_key, spec.name, fmt)
    mark = edge_mark(key, rules.signing_keys[0]) if rules.signing_keys and not unsigned else ""
    return Decision(
        200, output_key=key, format=fmt, spec=spec, auto=auto, mark=mark, adhoc=query.adhoc
    )


def _named(
    source_key: str,
    name: str,
    fmt: str,
    accept_header: str | None,
    rules: RequestRules,
    has_alpha: bool,
) -> Decision:
    spec = rules.renditions.get(name)
    if spec is None:
        known = ", ".join(rules.renditions) or "none"
        return Decision(400, f"p={name} is not a configured rendition; configured: {known}")
    auto = fmt == AUTO
    if auto:
        fmt = accept.negotiate(accept_header, spec.formats, has_alpha=has_alpha, order=rules.order)
    elif fmt not in spec.formats:
        return Decision(400, f"rendition {name!r} is made as {', '.join(spec.formats)}, not {fmt}")
    key = rules.keys.output_key(rules.bucket, source_key, name, EXTENSIONS[fmt])
    return Decision(200, output_key=key, format=fmt, spec=spec, auto=auto)


def _check_signature(
    source_key: str, params: Mapping[str, str], now: float, rules: RequestRules
) -> Decision | None:
    if not rules.signing_keys:
        return Decision(
            403,
            "ad-hoc renditions need signed URLs and no signing key is set "
            "(THUMBSMITH_ORIGIN_SIGNING_KEYS); p= names a configured rendition, and "
            "w= alone one of THUMBSMITH_ORIGIN_WIDTHS",
        )
    verdict = signing.verify(source_key, params, rules.signing_keys, now)
    if verdict.check is signing.Check.BAD_EXPIRY:
        return Decision(400, "exp= is not a whole number of Unix seconds")
    if not verdict.ok:
        reasons = {
            signing.Check.UNSIGNED: "this URL is not signed (s= is missing)",
            signing.Check.BAD: "the signature does not match this URL",
            signing.Check.EXPIRED: "this signed URL has expired",
        }
        return Decision(403, reasons[verdict.check])
    return None
