"""One :class:`ObjectEvent` -> read, render, write; or delete on removal.

Idempotent: every rendition records the source ETag and a fingerprint of the options
that shaped it, and one that already matches the current source is not rewritten.
S3 delivers events at least once and in any order, so the object is processed as it is
*now* (HEAD first), not as the event describes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from thumbsmith.adapters.notify import Notifier
from thumbsmith.adapters.storage import ObjectInfo, Store, object_name
from thumbsmith.core.hints import Hints, parse_focus
from thumbsmith.core.options import RenderOptions
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.errors import BucketNotFound, ImageTooLarge, ObjectNotFound, ThumbsmithError
from thumbsmith.service import manifest
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.headers import carried_metadata, content_disposition, rendition_filename
from thumbsmith.service.keys import KeyMapper, check_portable_key
from thumbsmith.service.ready import Found, Ready, State
from thumbsmith.service.rules import Rules

if TYPE_CHECKING:
    from thumbsmith.core.result import RenderResult

log = logging.getLogger("thumbsmith")

META_SOURCE_ETAG = "thumbsmith-source-etag"
META_SOURCE_KEY = "thumbsmith-source-key"
META_FINGERPRINT = "thumbsmith-fingerprint"
#: The source's user metadata naming its focal point, "x,y" in fractions of the upright
#: image (``x-amz-meta-focus: 0.31,0.42``).
META_FOCUS = "focus"

Status = Literal["written", "skipped", "deleted", "ignored"]

#: The reason of an "ignored" outcome whose source was not found (under any decoding).
SOURCE_GONE = "source no longer exists"


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


@dataclass(frozen=True, slots=True)
class Written:
    """One rendition object written: where, and what it holds."""

    bucket: str
    key: str
    format: str
    width: int
    height: int
    bytes: int
    name: str = ""
    etag: str = ""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(slots=True)
class Outcome:
    """What :meth:`Processor.process` did with one event."""

    event: ObjectEvent
    status: Status
    reason: str = ""
    renditions: list[Written] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    bytes_in: int = 0
    bytes_out: int = 0
    ms: float = 0.0

    @property
    def written(self) -> list[str]:
        """The URIs of the renditions written."""
        return [w.uri for w in self.renditions]

    def as_log(self) -> dict[str, object]:
        return {
            "object": self.event.uri,
            "kind": self.event.kind.value,
            "status": self.status,
            "reason": self.reason,
            "renditions": self.written or self.deleted,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "ms": round(self.ms, 1),
        }


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
        self._fingerprints = {
            (spec.name, fmt): self.options.fingerprint(spec, fmt)
            for spec in self.specs
            for fmt in spec.formats
        }
        self._manifest_fingerprint = manifest.fingerprint(
            {f"{name}.{fmt}": fp for (name, fmt), fp in self._fingerprints.items()},
            key_template=self.keys.key_template,
            base_url=config.public_base_url,
            placeholders=self.options.placeholders,
            main=self._main_group_choice(),
        )
        self.ready = Ready(store, notifiers)

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

    def process(self, event: ObjectEvent) -> Outcome:
        """Handle one event. Raises a typed :class:`ThumbsmithError` naming the object;
        its ``permanent`` flag tells the caller whether a retry can help."""
        start = time.perf_counter()
        try:
            if not self.keys.accepts(event.key):
                prefixes = " or ".join(repr(p) for p in self.keys.prefixes)
                outcome = Outcome(event, "ignored", f"outside prefix {prefixes}")
            elif self.keys.is_own_output(event.bucket, event.key):
                outcome = Outcome(event, "ignored", "key is one of thumbsmith's renditions")
            else:
                check_portable_key(event.key)
                self.keys.check_no_recursion(event.bucket)
                if event.kind is EventKind.REMOVED:
                    outcome = self._remove(event)
                else:
                    outcome = self._create(event)
        except ThumbsmithError as exc:
            raise exc.for_object(self.object_name(event.bucket, event.key)) from exc
        outcome.ms = (time.perf_counter() - start) * 1000
        return outcome

    def pending(self, bucket: str, key: str) -> list[str]:
        """The rendition keys :meth:`process` would write for this source now (a dry run:
        HEADs only). Raises :class:`ObjectNotFound` when the source is gone."""
        source = self.store.head(bucket, key)
        stale, _ = self._survey(source, self.keys.output_bucket(bucket))
        return sorted(stale.values())

    # --- created ---------------------------------------------------------------------
    def _survey(
        self, source: ObjectInfo, out_bucket: str
    ) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], ObjectInfo]]:
        """One HEAD per output ((name, format)): the keys of those not yet made from this
        exact source and options, and the HEADs of those that were (the manifest lists
        them as stored, so they need not be read again)."""
        stale: dict[tuple[str, str], str] = {}
        current: dict[tuple[str, str], ObjectInfo] = {}
        specs = self.specs_for(source.key)
        for output, out_key in self.keys.format_keys(source.bucket, source.key, specs).items():
            try:
                info = self.store.head(out_bucket, out_key)
            except (ObjectNotFound, BucketNotFound):
                # A missing output bucket is reported by the put that follows, by name.
                stale[output] = out_key
                continue
            if (
                info.metadata.get(META_SOURCE_ETAG) != source.etag
                or info.metadata.get(META_FINGERPRINT) != self._fingerprints[output]
            ):
                stale[output] = out_key
            else:
                current[output] = info
        return stale, current

    def _create(self, event: ObjectEvent) -> Outcome:
        try:
            head = self.store.head(event.bucket, event.key)
        except ObjectNotFound:
            found = self._find_alternative(event)
            if found is None:
                # Deleted after the event was sent; its own removal event cleans up.
                return Outcome(event, "ignored", SOURCE_GONE)
            event, head = found
        if head.size > self.options.max_bytes:
            raise ImageTooLarge(
                f"{head.size} bytes is over the limit of {self.options.max_bytes} "
                "(THUMBSMITH_MAX_BYTES)"
            )
        out_bucket = self.keys.output_bucket(event.bucket)
        stale, current = self._survey(head, out_bucket)
        listed = self._find_manifest(head, out_bucket)
        if not stale and listed.state is State.PENDING:
            self.ready.resend(out_bucket, listed.key, self._manifest_meta(head), subject=event.uri)
            return Outcome(event, "skipped", "renditions are up to date; notification re-sent")
        if not stale and listed.state is State.CURRENT:
            return Outcome(event, "skipped", "renditions are up to date")

        data, source = self.store.get(event.bucket, event.key)
        if source.etag != head.etag:
            # Replaced between HEAD and GET: judge the renditions against what we read.
            stale, current = self._survey(source, out_bucket)
            listed = self._find_manifest(source, out_bucket)

        from thumbsmith.core.rendering import render  # lazy: pyvips loads only when needed

        # Every rendition is rendered, though only the stale outputs are written: the
        # manifest that follows lists them all, with their sizes, and its placeholder
        # comes from the smallest one's pixels. No HEAD of a kept rendition can give those
        # (nor the source's facts), and a partly stale set (a changed setting) is rare.
        hints = Hints(focus=self._focus(source))
        name = self.object_name(event.bucket, event.key)
        result = render(data, self.specs_for(source.key), self.options, name=name, hints=hints)
        outcome = Outcome(event, "written", bytes_in=len(data))
        if stale:
            self.ready.withdraw(out_bucket, listed)
        else:
            outcome.reason = "renditions are up to date; manifest written"
        for rendition in result.renditions:
            out_key = stale.get((rendition.name, rendition.format))
            if out_key is None:
                continue
            info = self.store.put(
                out_bucket,
                out_key,
                rendition.data,
                content_type=rendition.content_type,
                cache_control=self.config.cache_control or None,
                content_disposition=content_disposition(
                    rendition_filename(source.key, rendition.extension)
                ),
                metadata={
                    **carried_metadata(source.metadata, self.config.copy_metadata),
                    META_SOURCE_ETAG: source.etag,
                    META_SOURCE_KEY: source.key,
                    META_FINGERPRINT: self._fingerprints[rendition.name, rendition.format],
                },
            )
            outcome.renditions.append(
                Written(
                    out_bucket,
                    out_key,
                    rendition.format,
                    rendition.width,
                    rendition.height,
                    len(rendition.data),
                    rendition.name,
                    info.etag,
                )
            )
            outcome.bytes_out += len(rendition.data)
        self._publish(source, result, outcome, current, listed.key)
        return outcome

    def _candidates(self, event: ObjectEvent) -> list[str]:
        """The event's other decodings that this config would handle at all."""
        return [
            key
            for key in event.alt_keys
            if self.keys.accepts(key) and not self.keys.is_own_output(event.bucket, key)
        ]

    def _find_alternative(self, event: ObjectEvent) -> tuple[ObjectEvent, ObjectInfo] | None:
        """The first other decoding of the key that exists, with its HEAD."""
        for key in self._candidates(event):
            try:
                head = self.store.head(event.bucket, key)
            except ObjectNotFound:
                continue
            log.warning(
                "key_found_by_other_decoding",
                extra={"object": event.uri, "found": key, "source": event.source},
            )
            return replace(event, key=key, alt_keys=()), head
        return None

    def _focus(self, source: ObjectInfo) -> tuple[float, float] | None:
        focus, problem = parse_focus(source.metadata.get(META_FOCUS))
        if problem:
            log.warning("%s: %s; ignored", source.key, problem)
        return focus

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
        return self.ready.find(out_bucket, key, expected)

    def _publish(
        self,
        source: ObjectInfo,
        result: RenderResult,
        outcome: Outcome,
        kept: dict[tuple[str, str], ObjectInfo],
        manifest_key: str,
    ) -> None:
        """The manifest of every rendition (written now or ``kept``), then the notification."""
        out_bucket = self.keys.output_bucket(source.bucket)
        written = {(w.name, w.format): w for w in outcome.renditions}
        entries = []
        for rendition in result.renditions:
            w = written.get((rendition.name, rendition.format))
            if w is None:
                stored = kept[rendition.name, rendition.format]  # its bytes as stored
                w = Written(
                    out_bucket, stored.key, rendition.format, rendition.width, rendition.height,
                    stored.size, rendition.name, stored.etag,
                )  # fmt: skip
            entries.append(
                manifest.Entry(w.name, w.format, w.key, w.width, w.height, w.bytes, w.etag)
            )
        body = manifest.build(
            manifest.SourceInfo(
                source.bucket, source.key, source.etag, source.size, source.content_type
            ),
            result.source,
            entries,
            self.specs,
            output_bucket=out_bucket,
            manifest_key=manifest_key,
            placeholder=result.placeholder,
            base_url=self.config.public_base_url,
            main=self.config.manifest_main,
        )
        self.ready.publish(
            body, out_bucket, manifest_key, self._manifest_meta(source), subject=outcome.event.uri
        )

    # --- removed ---------------------------------------------------------------------
    def _remove(self, event: ObjectEvent) -> Outcome:
        # Each decoding of the key is judged on its own: renditions are deleted only for
        # keys whose source is really gone, never for another object that exists.
        out_bucket = self.keys.output_bucket(event.bucket)
        outcome = Outcome(event, "deleted")
        for key in [event.key, *self._candidates(event)]:
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
            self.ready.removed(event.bucket, key, keys, manifest_key)
        if not outcome.deleted:
            return Outcome(event, "ignored", "source exists again; renditions kept")
        return outcome
