"""One :class:`ObjectEvent` -> read, render, write; or delete on removal.

Idempotent: every rendition records the source ETag and a fingerprint of the options
that shaped it, and one that already matches the current source is not rewritten.
S3 delivers events at least once and in any order, so the object is processed as it is
*now* (HEAD first), not as the event describes it. Sources that failed for good can be
remembered (backfill, sync) and skipped until they change: :mod:`service.failures`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from thumbsmith.core.hints import Hints
from thumbsmith.core.options import RenderOptions
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.errors import BucketNotFound, ImageError, ObjectNotFound, ThumbsmithError
from thumbsmith.service import failures, manifest
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.failures import FailureRecords, Remember
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ondemand.keys import adhoc_prefix, adhoc_source
from thumbsmith.service.ondemand.requests import DEFAULT_ADHOC_TEMPLATE
from thumbsmith.service.outcome import SOURCE_GONE, Outcome, Status
from thumbsmith.service.ports import Notifier, ObjectInfo, Store, check_key, object_name
from thumbsmith.service.publish import Found, ManifestPublisher, State
from thumbsmith.service.renditions import (
    META_FINGERPRINT,
    META_SOURCE_ETAG,
    META_SOURCE_KEY,
    RenditionWriter,
    StoredRendition,
    is_current,
)
from thumbsmith.service.rules import Rules
from thumbsmith.service.source import Source, SourceReader, hints_of

if TYPE_CHECKING:
    from thumbsmith.core.result import RenderResult

Output = tuple[str, str]  # (rendition name, format)


@dataclass(frozen=True, slots=True)
class ProcessConfig:
    """What :class:`Processor` needs to know, built from the settings by the runner."""

    specs: tuple[RenditionSpec, ...]
    options: RenderOptions
    keys: KeyMapper
    cache_control: str = ""
    rules: Rules = field(default_factory=Rules)
    copy_metadata: tuple[str, ...] = ()  # source user metadata carried onto renditions
    public_base_url: str = ""  # the manifest's URLs: this + key
    manifest_main: str = ""  # the rendition whose group is the manifest's main one
    origin_public_url: str = ""  # the on-demand origin's URL: the manifest's ``loader``
    adhoc_template: str = DEFAULT_ADHOC_TEMPLATE  # where the origin puts ad-hoc renditions


@dataclass(slots=True)
class Survey:
    """One HEAD per output of a source: the keys of those not yet made from this exact
    source and options (``stale``), the HEADs of those that were (``current``: the
    manifest lists them as stored), and the state of the manifest."""

    stale: dict[Output, str]
    current: dict[Output, ObjectInfo]
    manifest: Found

    @property
    def up_to_date(self) -> bool:
        return not self.stale and self.manifest.state in (State.CURRENT, State.PENDING)


@dataclass(frozen=True, slots=True)
class Plan:
    """What :meth:`Processor.process` would write for a source now (a dry run)."""

    renditions: tuple[str, ...] = ()  # the keys of the renditions it would write
    manifest: str = ""  # the manifest's key, when it would write the manifest
    known_bad: bool = False  # nothing: it failed for good before and is unchanged


class Processor:
    """Binds a store and a config; :meth:`process` is the one entry point for every mode."""

    def __init__(
        self, store: Store, config: ProcessConfig, notifiers: Sequence[Notifier] = ()
    ) -> None:
        self.store = store
        self.config = config
        self.specs = config.specs
        self.options = config.options
        self.keys = config.keys
        self.rules = config.rules
        self.sources = SourceReader(store, config.keys, config.options.max_bytes)
        self.writer = RenditionWriter(store, config.cache_control, config.copy_metadata)
        self.publisher = ManifestPublisher(store, notifiers)
        #: Each output's fingerprint for a source without render hints.
        self.fingerprints = {
            (spec.name, fmt): self.options.fingerprint(spec, fmt)
            for spec in self.specs
            for fmt in spec.formats
        }
        self._manifest_fingerprint = manifest.fingerprint(
            {f"{name}.{fmt}": fp for (name, fmt), fp in self.fingerprints.items()},
            key_template=self.keys.key_template,
            base_url=config.public_base_url,
            placeholders=self.options.placeholders,
            main=self._main_group_choice(),
            origin_url=config.origin_public_url,
        )
        self.failure_records = FailureRecords(
            store,
            config.keys,
            failures.fingerprint(self._manifest_fingerprint, self.options, self.rules),
        )

    def _main_group_choice(self) -> str | None:
        """The manifest's main group where the config has several groups to choose from."""
        if len({manifest.fit_group(spec) for spec in self.specs}) < 2:
            return None
        return manifest.main_group(self.specs, self.config.manifest_main)

    def object_name(self, bucket: str, key: str) -> str:
        """How messages name an object of this store: a local file by its path, an S3
        object as ``s3://bucket/key``."""
        return object_name(self.store, bucket, key)

    def specs_for(self, key: str) -> tuple[RenditionSpec, ...]:
        """The renditions a source key gets: its rule's, or all of them."""
        names = self.rules.names_for(key, [s.name for s in self.specs])
        return tuple(s for s in self.specs if s.name in names)

    def fingerprint(self, spec: RenditionSpec, fmt: str, hints: Hints) -> str:
        """What shapes one output's bytes: its spec, the options, and the focal point
        where it steers a crop."""
        return self.options.fingerprint(spec, fmt, focus=hints.focus)

    def process(self, event: ObjectEvent, remember: Remember = Remember.OFF) -> Outcome:
        """Handle one event. Raises a typed :class:`ThumbsmithError` naming the object;
        its ``permanent`` flag tells the caller whether a retry can help. ``remember``:
        whether a source that fails for good is recorded, and a recorded one skipped
        (:class:`~thumbsmith.service.failures.Remember`)."""
        start = time.perf_counter()
        try:
            if not self.keys.accepts(event.key):
                prefixes = " or ".join(repr(p) for p in self.keys.prefixes)
                outcome = Outcome(event, Status.IGNORED, f"outside prefix {prefixes}")
            elif self.keys.is_own_output(event.bucket, event.key):
                outcome = Outcome(event, Status.IGNORED, "key is one of thumbsmith's renditions")
            else:
                check_key(event.key)
                self.keys.check_no_recursion(event.bucket)
                if event.kind is EventKind.REMOVED:
                    outcome = self._remove(event)
                else:
                    outcome = self._create(event, remember)
        except ThumbsmithError as exc:
            raise exc.for_object(self.object_name(event.bucket, event.key)) from exc
        outcome.ms = (time.perf_counter() - start) * 1000
        return outcome

    def pending(self, bucket: str, key: str, remember: Remember = Remember.OFF) -> Plan:
        """What :meth:`process` would write for this source now (a dry run: HEADs only).
        Raises :class:`ObjectNotFound` when the source is gone."""
        source = self.store.head(bucket, key)
        out_bucket = self.keys.output_bucket(bucket)
        survey = self._survey(source, out_bucket)
        if survey.up_to_date:
            # A pending notification is sent again with the manifest put once more.
            pending = survey.manifest.state is State.PENDING
            return Plan(manifest=survey.manifest.key if pending else "")
        record = self.failure_records.find(out_bucket, source)
        if remember is Remember.SKIP and record is not None and record.current:
            return Plan(known_bad=True)
        return Plan(tuple(sorted(survey.stale.values())), survey.manifest.key)

    # --- created ---------------------------------------------------------------------
    def _create(self, event: ObjectEvent, remember: Remember) -> Outcome:
        found = self.sources.locate(event)
        if found is None:
            # Deleted after the event was sent; its own removal event cleans up.
            return Outcome(event, Status.IGNORED, SOURCE_GONE)
        event, head = found
        out_bucket = self.keys.output_bucket(event.bucket)
        survey = self._survey(head, out_bucket)
        if survey.up_to_date:
            if survey.manifest.state is State.PENDING:
                self.publisher.resend(
                    out_bucket, survey.manifest.key, self._manifest_meta(head), subject=event.uri
                )
                return Outcome(
                    event, Status.SKIPPED, "renditions are up to date; notification re-sent"
                )
            return Outcome(event, Status.SKIPPED, "renditions are up to date")

        # One HEAD more, only for a source about to be read: a record of a version that
        # renders now is deleted below, whoever renders it, so none outlives its problem.
        record = self.failure_records.find(out_bucket, head)
        if remember is Remember.SKIP and record is not None and record.current:
            return Outcome(
                event,
                Status.KNOWN_BAD,
                f"failed for good before ({record.kind}) and unchanged since; "
                "--retry-failed tries again",
            )
        source, result = self._read_and_render(event, head, out_bucket, remember)
        self.failure_records.clear(out_bucket, record)
        if source.info.etag != head.etag:
            # Replaced between HEAD and GET: judge the renditions against what we read.
            survey = self._survey(source.info, out_bucket)
        outcome = Outcome(event, Status.WRITTEN, bytes_in=len(source.data))
        if survey.stale:
            self.publisher.withdraw(out_bucket, survey.manifest)
        else:
            outcome.reason = "renditions are up to date; manifest written"
        outcome.renditions = self._write(out_bucket, source, result, survey.stale)
        outcome.bytes_out = sum(w.bytes for w in outcome.renditions)
        self._publish(source.info, result, outcome, survey)
        if survey.manifest.state is State.STALE:
            # A replaced source: the origin's ad-hoc renditions of the old bytes must not be
            # served as this one's (those it made of the new bytes already are kept).
            outcome.deleted += self._remove_adhoc(
                event.bucket, out_bucket, event.key, keep_etag=source.info.etag
            )
        return outcome

    def _read_and_render(
        self, event: ObjectEvent, head: ObjectInfo, out_bucket: str, remember: Remember
    ) -> tuple[Source, RenderResult]:
        """The byte limit, the GET and the render; a source that fails for good is
        recorded (unless ``remember`` is off) against the version that was read."""
        read = head
        try:
            self.sources.check_size(head)
            source = self.sources.fetch(event)
            read = source.info
            return source, self._render(event, source)
        except ImageError as exc:
            if remember is not Remember.OFF:
                self.failure_records.write(out_bucket, read, exc)
            raise

    def _survey(self, source: ObjectInfo, out_bucket: str) -> Survey:
        stale: dict[Output, str] = {}
        current: dict[Output, ObjectInfo] = {}
        hints = hints_of(source)
        specs = {spec.name: spec for spec in self.specs_for(source.key)}
        for output, out_key in self.keys.format_keys(
            source.bucket, source.key, specs.values()
        ).items():
            try:
                info = self.store.head(out_bucket, out_key)
            except (ObjectNotFound, BucketNotFound):
                # A missing output bucket is reported by the put that follows, by name.
                stale[output] = out_key
                continue
            name, fmt = output
            if is_current(info, source.etag, self.fingerprint(specs[name], fmt, hints)):
                current[output] = info
            else:
                stale[output] = out_key
        return Survey(stale, current, self._find_manifest(source, out_bucket))

    def _render(self, event: ObjectEvent, source: Source) -> RenderResult:
        from thumbsmith.core.rendering import render  # lazy: pyvips loads only when needed

        # Every rendition is rendered, though only the stale outputs are written: the
        # manifest that follows lists them all, with their sizes, and its placeholder
        # comes from the smallest one's pixels. No HEAD of a kept rendition can give those
        # (nor the source's facts), and a partly stale set (a changed setting) is rare.
        specs = self.specs_for(source.info.key)
        name = self.object_name(event.bucket, event.key)
        return render(source.data, specs, self.options, name=name, hints=source.hints)

    def _write(
        self, out_bucket: str, source: Source, result: RenderResult, stale: dict[Output, str]
    ) -> list[StoredRendition]:
        specs = {spec.name: spec for spec in self.specs}
        hints = source.hints
        written = []
        for rendition in result.renditions:
            out_key = stale.get((rendition.name, rendition.format))
            if out_key is not None:
                fingerprint = self.fingerprint(specs[rendition.name], rendition.format, hints)
                written.append(
                    self.writer.put(out_bucket, out_key, rendition, source.info, fingerprint)
                )
        return written

    # --- manifest --------------------------------------------------------------------
    def _manifest_meta(self, source: ObjectInfo) -> dict[str, str]:
        return {
            META_SOURCE_ETAG: source.etag,
            META_SOURCE_KEY: source.key,
            META_FINGERPRINT: self._manifest_fingerprint,
        }

    def _find_manifest(self, source: ObjectInfo, out_bucket: str) -> Found:
        key = self.keys.manifest_key(source.bucket, source.key)
        expected = self._manifest_meta(source)
        del expected[META_SOURCE_KEY]
        return self.publisher.find(out_bucket, key, expected)

    def _publish(
        self, source: ObjectInfo, result: RenderResult, outcome: Outcome, survey: Survey
    ) -> None:
        """The manifest of every rendition (written now or kept), then the notification."""
        out_bucket = self.keys.output_bucket(source.bucket)
        written = {(w.name, w.format): w for w in outcome.renditions}
        stored = []
        for rendition in result.renditions:
            w = written.get((rendition.name, rendition.format))
            if w is None:
                kept = survey.current[rendition.name, rendition.format]  # its bytes as stored
                w = StoredRendition(
                    out_bucket, kept.key, rendition.format, rendition.width, rendition.height,
                    kept.size, rendition.name, kept.etag,
                )  # fmt: skip
            stored.append(w)
        body = manifest.build(
            manifest.SourceInfo(
                source.bucket, source.key, source.etag, source.size, source.content_type
            ),
            result.source,
            stored,
            self.specs,
            output_bucket=out_bucket,
            manifest_key=survey.manifest.key,
            placeholder=result.placeholder,
            base_url=self.config.public_base_url,
            main=self.config.manifest_main,
            origin_url=self.config.origin_public_url,
        )
        self.publisher.publish(
            body,
            out_bucket,
            survey.manifest.key,
            self._manifest_meta(source),
            subject=outcome.event.uri,
        )

    # --- removed ---------------------------------------------------------------------
    def _remove(self, event: ObjectEvent) -> Outcome:
        # Each decoding of the key is judged on its own: renditions are deleted only for
        # keys whose source is really gone, never for another object that exists.
        out_bucket = self.keys.output_bucket(event.bucket)
        outcome = Outcome(event, Status.DELETED)
        for key in [event.key, *self.sources.candidates(event)]:
            try:
                self.store.head(event.bucket, key)
            except ObjectNotFound:
                pass
            else:
                continue  # out-of-order delivery (re-uploaded since), or another object
            # The manifest first: it must never list a rendition that is already gone.
            manifest_key = self.keys.manifest_key(event.bucket, key)
            self.store.delete(out_bucket, manifest_key)
            # Every format of every rendition, whatever the rules say today: a rule
            # changed since the source was rendered must not leave its renditions behind.
            keys = list(self.keys.format_keys(event.bucket, key, self.specs).values())
            for out_key in keys:
                self.store.delete(out_bucket, out_key)
                outcome.deleted.append(f"s3://{out_bucket}/{out_key}")  # as written: URIs
            if (failure_key := self.keys.failure_key(event.bucket, key)) is not None:
                self.store.delete(out_bucket, failure_key)  # not a rendition: not listed
            outcome.deleted += self._remove_adhoc(event.bucket, out_bucket, key)
            self.publisher.removed(event.bucket, key, keys, manifest_key)
        if not outcome.deleted:
            return Outcome(event, Status.IGNORED, "source exists again; renditions kept")
        return outcome

    def _made_of(self, out_bucket: str, out_key: str) -> str | None:
        try:
            return self.store.head(out_bucket, out_key).metadata.get(META_SOURCE_ETAG)
        except ObjectNotFound:
            return None

    def _remove_adhoc(
        self, bucket: str, out_bucket: str, key: str, *, keep_etag: str | None = None
    ) -> list[str]:
        """The origin's ad-hoc renditions of ``key``: one prefix listing (only keys that
        read back to this very source: ``images/a.jpg/b.jpg``'s share the prefix); with
        ``keep_etag``, those made of that source version stay (one HEAD each)."""
        template = self.config.adhoc_template
        gone = []
        try:
            listing = list(self.store.list(out_bucket, adhoc_prefix(template, bucket, key)))
        except BucketNotFound:
            return []
        for info in listing:
            if adhoc_source(template, bucket, info.key) != key:
                continue
            if keep_etag is not None and self._made_of(out_bucket, info.key) == keep_etag:
                continue
            self.store.delete(out_bucket, info.key)
            gone.append(f"s3://{out_bucket}/{info.key}")
        return gone
