"""Output keys read back: which source, rendition and format a key of the output bucket
names, the inverse of :meth:`KeyMapper.output_key` and of :meth:`RequestRules.adhoc_key`.

The origin answers ``GET /{output key}`` (a CDN that found nothing in the bucket asks it
next), so it must tell from the key alone what to render: ``large/images/cat.png.webp``
is rendition ``large`` of ``images/cat.png`` as WebP, ``_ondemand/images/cat.jpg/
w640-inside.webp`` the ad-hoc box ``w640-inside`` of ``images/cat.jpg``. Each template
becomes one anchored regex: ``{rendition}`` an alternation of the configured names,
``{ext}`` of the extensions in use, ``{id}`` the characters an id is spelled with,
``{key}`` anything (``.+``), ``{bucket}`` the bucket's name, the rest literal.

Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from thumbsmith.core.formats import EXTENSIONS, FORMAT_OF_EXTENSION
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.errors import BadRequest
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ondemand.params import AdHoc, Limits, parse_id, parse_query

_PLACEHOLDER = re.compile(r"{(rendition|key|ext|bucket|id)}")


@dataclass(frozen=True, slots=True)
class Wanted:
    """What an output key asks for: one format of one rendition of one source."""

    source_key: str
    format: str
    spec: RenditionSpec
    adhoc: AdHoc | None = None  # set for an ad-hoc key (its spec's name is the id)

    @property
    def name(self) -> str:
        return self.spec.name


def template_regex(template: str, groups: Mapping[str, str], bucket: str) -> re.Pattern[str]:
    """``template`` as an anchored regex; each placeholder in ``groups`` a named group
    (its pattern the value), a repeat of it a back-reference, ``{bucket}`` literal."""
    out: list[str] = []
    seen: set[str] = set()
    pos = 0
    for match in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[pos : match.start()]))
        name = match.group(1)
        if name == "bucket":
            out.append(re.escape(bucket))
        elif name in seen:
            out.append(f"(?P={name})")
        else:
            seen.add(name)
            out.append(f"(?P<{name}>{groups.get(name, '.+')})")
        pos = match.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


def _alternation(words: list[str]) -> str:
    # Longest first: "thumb" must not win over "thumb2" where both are names.
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) or "(?!)"


def adhoc_source(template: str, bucket: str, output_key: str) -> str | None:
    """The source key of an ad-hoc output key under ``template`` (any id and extension:
    delete propagation clears those made under older limits too), else ``None``."""
    match = _adhoc_pattern(template, bucket).match(output_key)
    return match.groupdict().get("key") if match else None


@functools.lru_cache(maxsize=64)
def _adhoc_pattern(template: str, bucket: str) -> re.Pattern[str]:
    return template_regex(template, {"id": "[a-z0-9-]+", "ext": "[a-z0-9]+"}, bucket)


def adhoc_prefix(template: str, bucket: str, source_key: str) -> str:
    """The fixed start of every ad-hoc key of ``source_key`` (``_ondemand/KEY/``): what
    one prefix listing (and one CDN invalidation) covers."""
    head = template.split("{id}", 1)[0].split("{ext}", 1)[0]
    return head.replace("{bucket}", bucket).replace("{key}", source_key)


class KeyReader:
    """Reads output keys back for one source bucket's settings."""

    def __init__(
        self,
        keys: KeyMapper,
        bucket: str,
        renditions: Mapping[str, RenditionSpec],
        adhoc_template: str,
        limits: Limits,
    ) -> None:
        self.keys = keys
        self.bucket = bucket
        self.renditions = renditions
        self.adhoc_template = adhoc_template
        self.limits = limits
        named_exts = sorted({EXTENSIONS[f] for s in renditions.values() for f in s.formats})
        self._named = template_regex(
            keys.key_template,
            {"rendition": _alternation(list(renditions)), "ext": _alternation(named_exts)},
            bucket,
        )
        self._adhoc = template_regex(
            adhoc_template,
            {
                "id": "[a-z0-9-]+",
                "ext": _alternation(sorted({EXTENSIONS[f] for f in limits.formats})),
            },
            bucket,
        )

    def read(self, output_key: str) -> Wanted | None:
        """What ``output_key`` names, or ``None`` when it is no key these settings write
        (for a source this origin serves)."""
        wanted = self.read_adhoc(output_key) or self.read_named(output_key)
        if wanted is None or not self.keys.accepts(wanted.source_key):
            return None
        if self.keys.is_own_output(self.bucket, wanted.source_key):
            return None
        return wanted

    def read_named(self, output_key: str) -> Wanted | None:
        match = self._named.match(output_key)
        if match is None:
            return None
        groups = match.groupdict()
        spec = self.renditions.get(groups.get("rendition", ""))
        if spec is None:
            return None
        formats = [f for f in spec.formats if EXTENSIONS[f] == groups.get("ext")]
        if not formats or "key" not in groups:
            return None
        wanted = Wanted(groups["key"], formats[0], spec)
        # The key must be exactly the one pre-generation writes (no other spelling).
        written = self.keys.output_key(self.bucket, wanted.source_key, spec.name, groups["ext"])
        return wanted if written == output_key else None

    def read_adhoc(self, output_key: str) -> Wanted | None:
        match = self._adhoc.match(output_key)
        if match is None:
            return None
        groups = match.groupdict()
        adhoc = parse_id(groups.get("id", ""))
        fmt = FORMAT_OF_EXTENSION.get(groups.get("ext", ""))
        if adhoc is None or fmt is None or "key" not in groups:
            return None
        try:
            # The limits as they are now: a key made under looser ones never renders.
            parse_query(_pairs(adhoc, fmt), self.limits)
        except BadRequest:
            return None
        return Wanted(groups["key"], fmt, adhoc.spec(fmt), adhoc)

    def adhoc_prefix(self, source_key: str) -> str:
        return adhoc_prefix(self.adhoc_template, self.bucket, source_key)


def _pairs(adhoc: AdHoc, fmt: str) -> list[tuple[str, str]]:
    pairs = [("f", fmt), ("fit", adhoc.fit)]
    if adhoc.width:
        pairs.append(("w", str(adhoc.width)))
    if adhoc.height:
        pairs.append(("h", str(adhoc.height)))
    if adhoc.fit == "cover":
        pairs.append(("pos", adhoc.position))
    if adhoc.quality is not None:
        pairs.append(("q", str(adhoc.quality)))
    return pairs
