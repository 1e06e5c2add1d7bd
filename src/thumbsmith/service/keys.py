"""Source key -> output bucket and rendition keys, and the recursion guard.

The default template ``{rendition}/{key}.{ext}`` keeps the whole source key, so two
distinct sources can never map to one rendition: ``images/cat.png`` and
``images/cat.jpg`` become ``large/images/cat.png.jpg`` and ``large/images/cat.jpg.jpg``.
Dropping the source extension would read nicer and collide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from thumbsmith.core.formats import EXTENSIONS
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.errors import ConfigError

#: The reserved rendition name whose key (with extension ``json``) holds the manifest.
MANIFEST = "manifest"
MANIFEST_EXT = "json"
#: The name (and extension) whose key holds a source's failure record (service.failures).
#: ``json`` is no image format's extension, so the record can only meet the manifest (a
#: template without ``{rendition}``) or a rendition itself named ``failed`` (a template
#: without ``{ext}``); :attr:`KeyMapper.keeps_failure_records` checks both. Not a
#: reserved rendition name, so no config that worked before is refused now.
FAILED = "failed"
FAILED_EXT = "json"
#: Source keys the start-up check maps through the template: one nested, one bare.
_SAMPLE_KEYS = ("images/a.jpg", "a")


@dataclass(frozen=True, slots=True)
class KeyMapper:
    """``prefix``: the watched source prefix, and ``rule_prefixes`` those of the rules,
    watched too. Templates use ``{bucket}`` (the source bucket), ``{rendition}``,
    ``{key}`` (the whole source key) and ``{ext}`` (from each output's format);
    ``extensions`` are every format's extension in use."""

    prefix: str
    output_bucket_template: str
    key_template: str
    rendition_names: tuple[str, ...]
    rule_prefixes: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ("jpg",)

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Every watched prefix, the setting's first."""
        return tuple(dict.fromkeys((self.prefix, *self.rule_prefixes)))

    def output_bucket(self, bucket: str) -> str:
        return self.output_bucket_template.replace("{bucket}", bucket)

    def output_key(self, bucket: str, key: str, rendition: str, ext: str = "jpg") -> str:
        # {key} last: a source key may itself contain "{ext}" or "{bucket}".
        return (
            self.key_template.replace("{rendition}", rendition)
            .replace("{ext}", ext)
            .replace("{bucket}", bucket)
            .replace("{key}", key)
        )

    def rendition_keys(self, bucket: str, key: str) -> set[str]:
        """Every key a rendition of this source may have under the current templates:
        each rendition name in each extension in use (whatever its formats are now)."""
        return {
            self.output_key(bucket, key, name, ext)
            for name in self.rendition_names
            for ext in self.extensions
        }

    def format_keys(
        self, bucket: str, key: str, specs: Iterable[RenditionSpec]
    ) -> dict[tuple[str, str], str]:
        """Every output key of ``specs``: one per (rendition, format)."""
        return {
            (spec.name, fmt): self.output_key(bucket, key, spec.name, EXTENSIONS[fmt])
            for spec in specs
            for fmt in spec.formats
        }

    def manifest_key(self, bucket: str, key: str) -> str:
        """``manifest/images/cat.png.json`` under the default template."""
        return self.output_key(bucket, key, MANIFEST, MANIFEST_EXT)

    def failure_key(self, bucket: str, key: str) -> str | None:
        """``failed/images/cat.png.json`` under the default template: where a source that
        failed for good is recorded; ``None`` where the template cannot keep that record
        apart from the source's outputs (no ``{rendition}`` in it: the record would be
        the manifest's key)."""
        if not self.keeps_failure_records:
            return None
        return self.output_key(bucket, key, FAILED, FAILED_EXT)

    @property
    def keeps_failure_records(self) -> bool:
        """Whether a failure record has a key of its own, ignoring case (local buckets may
        live on case-insensitive file systems)."""
        for sample in _SAMPLE_KEYS:
            outputs = {
                self.output_key("bucket", sample, name, ext).lower()
                for name in self.rendition_names
                for ext in self.extensions
            }
            outputs.add(self.manifest_key("bucket", sample).lower())
            if self.output_key("bucket", sample, FAILED, FAILED_EXT).lower() in outputs:
                return False
        return True

    def check_outputs_apart(self, specs: Iterable[RenditionSpec]) -> None:
        """Refuse a key template that maps two outputs of one source (two renditions, two
        formats of one, or a rendition and the manifest) to one key: the last write would
        win while the manifest lists both. Raises :class:`ConfigError` with the reason."""
        outputs = [
            (spec.name, EXTENSIONS[fmt], f"rendition {spec.name!r} as {fmt}")
            for spec in specs
            for fmt in spec.formats
        ]
        outputs.append((MANIFEST, MANIFEST_EXT, "the manifest"))
        for key in _SAMPLE_KEYS:
            seen: dict[str, tuple[str, str, str]] = {}
            for output in outputs:
                out_key = self.output_key("bucket", key, output[0], output[1])
                if out_key in seen:
                    raise ConfigError(self._collision(seen[out_key], output, key, out_key))
                seen[out_key] = output

    def _collision(
        self, first: tuple[str, str, str], second: tuple[str, str, str], key: str, out_key: str
    ) -> str:
        if first[0] != second[0] and "{rendition}" not in self.key_template:
            fix = "add '{rendition}'"
        elif first[1] != second[1] and "{ext}" not in self.key_template:
            fix = "add '{ext}'"
        else:
            fix = "make it tell them apart"
        return (
            f"{first[2]} and {second[2]} of source {key!r} would both be written to "
            f"{out_key!r}, the last overwriting the first; {fix}"
        )

    def accepts(self, key: str) -> bool:
        """Whether a source key is one thumbsmith should process (under a prefix)."""
        return key.startswith(self.prefixes) and not key.endswith("/")

    def output_prefixes(self, bucket: str) -> list[str]:
        """The fixed start of every rendition key, the manifest's and the failure
        record's (the template up to the source key), so the recursion guard covers them."""
        head = self.key_template.split("{key}", 1)[0]
        named = [(n, ext) for n in self.rendition_names for ext in self.extensions]
        named.append((MANIFEST, MANIFEST_EXT))
        if self.keeps_failure_records:
            named.append((FAILED, FAILED_EXT))
        heads = (
            head.replace("{rendition}", name).replace("{ext}", ext).replace("{bucket}", bucket)
            for name, ext in named
        )
        return list(dict.fromkeys(heads))

    def check_no_recursion(self, bucket: str) -> None:
        """Refuse settings under which a rendition could itself trigger processing.

        Renditions land in another bucket by default. When they share the source bucket,
        every rendition prefix must lie outside the watched prefix and vice versa, or each
        thumbnail would be thumbnailed again, forever (and billed per invocation).
        """
        out = self.output_bucket(bucket)
        if out != bucket:
            return
        for prefix in self.prefixes:
            if not prefix:
                raise ConfigError(
                    f"recursion guard: output bucket {out!r} is the source bucket and a "
                    "watched prefix is empty, so every rendition would re-trigger processing; "
                    "set THUMBSMITH_PREFIX (and every rule's prefix) or a different "
                    "THUMBSMITH_OUTPUT_BUCKET"
                )
            for head in self.output_prefixes(bucket):
                if head.startswith(prefix) or prefix.startswith(head):
                    raise ConfigError(
                        f"recursion guard: renditions written to bucket {out!r} under "
                        f"{head!r} fall under the watched prefix {prefix!r} of the same "
                        "bucket; change "
                        "THUMBSMITH_KEY_TEMPLATE, THUMBSMITH_PREFIX, THUMBSMITH_RULES or "
                        "THUMBSMITH_OUTPUT_BUCKET"
                    )

    def is_own_output(self, bucket: str, key: str) -> bool:
        """Defence in depth: an event for a key that looks like one of our renditions."""
        if self.output_bucket(bucket) != bucket:
            return False
        return any(key.startswith(h) for h in self.output_prefixes(bucket) if h)
