"""The on-demand origin's policy: what a request names, whether it may render, the ETag,
and rendering one rendition of one source into the output store (no HTTP here).

Two objects, for the two sides of a render pool:

* :class:`Origin` (the HTTP process): reads an output key back (:mod:`.keys`) or decides
  an ``/img/`` request (:func:`.requests.decide`), HEADs the source the way ``process()``
  does (:class:`~thumbsmith.service.source.SourceReader`: other key decodings, the byte
  limit), and computes the strong ETag without rendering: a hash of the source's ETag and
  the rendition's fingerprint, the two values every rendition object records.
* :class:`Renderer` (a render process, or the same one for the inline renderer): GETs the
  source, renders that one spec in that one format with ``core.render`` (a named one among
  its siblings, encoded alone, so its bytes are pre-generation's), and writes it
  with :class:`~thumbsmith.service.renditions.RenditionWriter`, the metadata pre-generation
  writes, so idempotency, ``sync`` and delete propagation treat it as pre-made. An ad-hoc
  result also records :data:`META_ONDEMAND` (its id).
"""

from __future__ import annotations

import dataclasses
import hashlib
import mimetypes
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from thumbsmith.core.formats import OUTPUT
from thumbsmith.core.options import RenderOptions
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.errors import BucketNotFound, ObjectNotFound, ThumbsmithError
from thumbsmith.service.events import ObjectEvent
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ondemand import accept
from thumbsmith.service.ondemand.keys import KeyReader, Wanted
from thumbsmith.service.ondemand.params import AUTO, Limits, edge_mark_ok
from thumbsmith.service.ondemand.requests import RequestRules, decide
from thumbsmith.service.ports import ObjectInfo, Store, check_key, object_name
from thumbsmith.service.renditions import (
    META_FINGERPRINT,
    META_SOURCE_ETAG,
    RenditionWriter,
)
from thumbsmith.service.rules import Rules
from thumbsmith.service.source import SourceReader, hints_of

#: Metadata on an ad-hoc rendition: its id (``w640-inside``). Pre-made and on-demand
#: named renditions carry none: they are the same objects.
META_ONDEMAND = "thumbsmith-ondemand"
#: The S3 tag of an ad-hoc result: a lifecycle rule or an IAM condition can select
#: on-demand results by it (the shipped stack's rule selects by prefix and tag both).
ONDEMAND_TAGS: Mapping[str, str] = {"thumbsmith": "ondemand"}
#: Source types that can carry alpha: ``f=auto`` prefers a format that keeps it for them.
_ALPHA_TYPES = ("image/png", "image/webp", "image/avif", "image/gif", "image/heic", "image/heif")


class Refused(Exception):
    """The answer is an error known before any render: ``status`` and one line why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Busy(Exception):
    """No render can start now (the queue in front of the render processes is full, or
    a render process died or ran past its timeout): 503, try again shortly."""


def strong_etag(source_etag: str, fingerprint: str) -> str:
    """``"<32 hex>"``: the same for every copy of one rendition of one source version,
    known before it is rendered (and from a stored object's metadata)."""
    digest = hashlib.sha256(f"{source_etag}\n{fingerprint}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def stored_etag(info: ObjectInfo) -> str:
    """A stored object's strong ETag: from thumbsmith's record where it has one (so a hit
    and the miss before it answer alike), else the store's own."""
    source_etag = info.metadata.get(META_SOURCE_ETAG)
    fingerprint = info.metadata.get(META_FINGERPRINT)
    if source_etag and fingerprint:
        return strong_etag(source_etag, fingerprint)
    etag = info.etag.strip('"') or f"{info.size}"
    return f'"{etag}"'


@dataclass(frozen=True, slots=True)
class RenderJob:
    """One render, as sent to a render process (picklable)."""

    bucket: str  # the source bucket
    source_key: str
    out_bucket: str
    output_key: str
    spec: RenditionSpec
    format: str
    adhoc: bool = False


@dataclass(frozen=True, slots=True)
class Rendered:
    """A render's answer: the bytes as written, and how long each phase took."""

    data: bytes
    content_type: str
    width: int
    height: int
    etag: str
    last_modified: datetime | None = None
    read_ms: float = 0.0
    render_ms: float = 0.0
    write_ms: float = 0.0
    from_store: bool = False  # found written after all: not rendered by this request


@dataclass(frozen=True, slots=True)
class Plan:
    """What to serve for a request: ``output_key`` from the store, else a render of
    ``wanted`` into it; ``auto``: the format came from ``Accept``."""

    output_key: str
    wanted: Wanted
    auto: bool = False


@dataclass(frozen=True)
class OriginConfig:
    """What :class:`Origin` and :class:`Renderer` need, built from the settings."""

    request_rules: RequestRules
    options: RenderOptions
    rules: Rules = field(default_factory=Rules)

    @property
    def keys(self) -> KeyMapper:
        return self.request_rules.keys

    @property
    def bucket(self) -> str:
        return self.request_rules.bucket

    @property
    def limits(self) -> Limits:
        return self.request_rules.limits

    @property
    def signing(self) -> bool:
        return bool(self.request_rules.signing_keys)


class Origin:
    """The HTTP process's side: every method is blocking I/O or pure (call the blocking
    ones in a thread)."""

    def __init__(self, store: Store, config: OriginConfig) -> None:
        self.store = store
        self.config = config
        rules = config.request_rules
        self.out_bucket = config.keys.output_bucket(config.bucket)
        self.reader = KeyReader(
            config.keys, config.bucket, rules.renditions, rules.adhoc_template, config.limits
        )
        self.sources = SourceReader(store, config.keys, config.options.max_bytes)

    def object_name(self, key: str, *, output: bool = True) -> str:
        return object_name(self.store, self.out_bucket if output else self.config.bucket, key)

    # --- what a request names (pure) -------------------------------------------------
    def plan_key(self, output_key: str, mark: str | None) -> Plan:
        """``GET /{output key}`` on a miss: the rendition it names. An ad-hoc key renders
        only with the edge's mark (the edge checked its signature) or when anyone may ask
        for it (an allowlisted width); else, as for a key that names nothing, 404: the
        bucket lacked it and so does the origin."""
        wanted = self.reader.read(output_key)
        if wanted is None:
            raise Refused(404, f"no object {output_key!r}, and it names no rendition to make")
        if wanted.adhoc is not None and not (
            wanted.adhoc.unsigned_ok(self.config.limits)
            or edge_mark_ok(output_key, mark, self.config.request_rules.signing_keys)
        ):
            raise Refused(
                404,
                f"no object {output_key!r}; ad-hoc renditions are made only through a "
                "signed /img/ URL (or ?w= of THUMBSMITH_ORIGIN_WIDTHS)",
            )
        self._check_rules(wanted)
        return Plan(output_key, wanted)

    def plan_img(
        self,
        source_key: str,
        pairs: Sequence[tuple[str, str]],
        accept_header: str | None,
        now: float,
        has_alpha: bool = False,
    ) -> Plan:
        """``GET /img/{source key}?...``: :func:`decide`, then the rules' renditions."""
        decision = decide(
            source_key, pairs, accept_header, now, self.config.request_rules, has_alpha=has_alpha
        )
        if not decision.ok:
            raise Refused(decision.status, decision.reason)
        assert decision.spec is not None
        wanted = Wanted(source_key, decision.format, decision.spec, decision.adhoc)
        self._check_rules(wanted)
        return Plan(decision.output_key, wanted, decision.auto)

    def may_need_alpha(self, pairs: Sequence[tuple[str, str]]) -> bool:
        """Whether ``f=auto`` could choose differently for a source with alpha: only then
        is the source's HEAD worth its request before the decision."""
        params = dict(pairs)
        if params.get("f", AUTO).strip().lower() != AUTO:
            return False
        rendition = self.config.request_rules.renditions.get(params.get("p", ""))
        formats = rendition.formats if rendition else self.config.limits.formats
        return accept.preference(formats, True) != accept.preference(formats, False)

    def _check_rules(self, wanted: Wanted) -> None:
        if wanted.adhoc is not None:
            return
        names = self.config.rules.names_for(wanted.source_key, [wanted.name])
        if not names:
            raise Refused(
                404, f"rendition {wanted.name!r} is not made for {wanted.source_key!r} (rules)"
            )

    # --- the store (blocking) ----------------------------------------------------------
    def stored(self, output_key: str, *, body: bool) -> tuple[bytes | None, ObjectInfo] | None:
        """The stored object (its bytes only with ``body``), or ``None`` when missing."""
        check_key(output_key)
        try:
            if body:
                return self.store.get(self.out_bucket, output_key)
            return None, self.store.head(self.out_bucket, output_key)
        except (ObjectNotFound, BucketNotFound):
            return None

    def source_alpha(self, source_key: str) -> bool:
        """Whether the source may have alpha, by its type (HEAD); ``False`` if missing."""
        try:
            found = self.sources.locate(ObjectEvent(self.config.bucket, source_key))
        except (ObjectNotFound, BucketNotFound):
            return False
        if found is None:
            return False
        # The type the store has, else the one the name says (a local file has none).
        kind = found[1].content_type or mimetypes.guess_type(found[1].key)[0] or ""
        return kind in _ALPHA_TYPES

    def source(self, plan: Plan) -> ObjectInfo:
        """The source's HEAD, found the way ``process()`` finds it; :class:`Refused` 404
        when missing. Raises :class:`ImageTooLarge` over the byte limit."""
        event = ObjectEvent(self.config.bucket, plan.wanted.source_key, source="ondemand")
        try:
            found = self.sources.find(event)
        except BucketNotFound:
            found = None
        except ThumbsmithError as exc:
            raise exc.for_object(self.object_name(event.key, output=False)) from exc
        if found is None:
            raise Refused(404, f"no source {plan.wanted.source_key!r}")
        return found[1]

    def etag(self, plan: Plan, source: ObjectInfo) -> str:
        fp = fingerprint(self.config.options, plan.wanted.spec, plan.wanted.format, source)
        return strong_etag(source.etag, fp)

    def job(self, plan: Plan, source: ObjectInfo) -> RenderJob:
        return RenderJob(
            source.bucket,
            source.key,
            self.out_bucket,
            plan.output_key,
            plan.wanted.spec,
            plan.wanted.format,
            adhoc=plan.wanted.adhoc is not None,
        )


def fingerprint(options: RenderOptions, spec: RenditionSpec, fmt: str, source: ObjectInfo) -> str:
    """The one output's fingerprint, as :meth:`Processor.fingerprint` computes it."""
    return options.fingerprint(spec, fmt, focus=hints_of(source).focus)


@dataclass(frozen=True)
class Renderer:
    """The render process's side: one source read, one render, one write."""

    sources: SourceReader
    writer: RenditionWriter
    options: RenderOptions
    name_of: Callable[[str, str], str]
    #: The renditions a source gets (its rule's): a named one is made among them.
    specs_for: Callable[[str], tuple[RenditionSpec, ...]]

    def render(self, job: RenderJob) -> Rendered:
        from thumbsmith.core.rendering import render  # lazy: pyvips loads only here

        start = time.perf_counter()
        event = ObjectEvent(job.bucket, job.source_key, source="ondemand")
        name = self.name_of(job.bucket, job.source_key)
        try:
            source = self.sources.fetch(event)
            self.sources.check_size(source.info)
        except ThumbsmithError as exc:
            raise exc.for_object(name) from exc
        read = time.perf_counter()
        # No manifest is written here, so no placeholder is made (7 ms of a 12 MP render);
        # it never shapes a rendition's bytes.
        options = dataclasses.replace(self.options, placeholders=False)
        siblings = self.specs_for(job.source_key)
        if not job.adhoc and job.spec in siblings:
            # Among its siblings, encoding it alone: the same cascade as pre-generation's,
            # so the same bytes, as the strong ETag (source ETag + fingerprint) promises.
            specs, only = list(siblings), (job.spec.name, job.format)
        else:
            specs, only = [dataclasses.replace(job.spec, formats=(job.format,))], None
        result = render(source.data, specs, options, name=name, hints=source.hints, only=only)
        rendition = result.renditions[0]
        rendered = time.perf_counter()
        fp = fingerprint(self.options, job.spec, job.format, source.info)
        extra: Mapping[str, str] = {META_ONDEMAND: job.spec.name} if job.adhoc else {}
        tags = ONDEMAND_TAGS if job.adhoc else None
        try:
            self.writer.put(job.out_bucket, job.output_key, rendition, source.info, fp, extra, tags)
        except ThumbsmithError as exc:
            raise exc.for_object(self.name_of(job.out_bucket, job.output_key)) from exc
        done = time.perf_counter()
        return Rendered(
            rendition.data,
            OUTPUT[job.format].mime,
            rendition.width,
            rendition.height,
            strong_etag(source.info.etag, fp),
            datetime.now(UTC),
            (read - start) * 1000,
            (rendered - read) * 1000,
            (done - rendered) * 1000,
        )
