"""Which output objects are orphans: thumbsmith's renditions and manifests whose source
is gone (the policy of ``thumbsmith sync``; the runner lists, fans out and deletes).

An object's metadata decides, never its key's shape: only an object whose
``thumbsmith-source-key`` names a source under the synced prefixes that is missing from
the listing, and still missing on a fresh HEAD, is an orphan. Objects without that
metadata (anything thumbsmith did not write) are never touched. Renditions at the keys
the current templates give for a listed source are known to be live and need no HEAD.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from thumbsmith.errors import ObjectNotFound, ThumbsmithError
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ondemand.keys import adhoc_source
from thumbsmith.service.ondemand.requests import DEFAULT_ADHOC_TEMPLATE
from thumbsmith.service.ports import Store
from thumbsmith.service.renditions import META_SOURCE_KEY


class Action(StrEnum):
    DELETE = "delete"  # an orphan
    KEEP = "keep"  # its source exists (or lies outside the synced prefixes)
    FOREIGN = "foreign"  # not thumbsmith's: never touched
    FAILED = "failed"  # could not be judged (the detail says why)


@dataclass(frozen=True, slots=True)
class Verdict:
    key: str
    action: Action
    detail: str = ""  # DELETE: the gone source's key; FAILED: the error


@dataclass(frozen=True, slots=True)
class Orphans:
    """The policy for one source bucket, its output bucket and the synced prefixes."""

    store: Store
    keys: KeyMapper
    bucket: str
    prefixes: tuple[str, ...]
    adhoc_template: str = DEFAULT_ADHOC_TEMPLATE

    @property
    def out_bucket(self) -> str:
        return self.keys.output_bucket(self.bucket)

    def candidates(self, outputs: Iterable[str], sources: Collection[str]) -> list[str]:
        """The output keys worth a HEAD: not a live rendition of a listed source, and
        (when renditions share the source bucket) not a source itself."""
        live = {
            out_key for src in sources for out_key in self.keys.rendition_keys(self.bucket, src)
        }
        same_bucket = self.out_bucket == self.bucket
        return [
            k
            for k in outputs
            if k not in live
            and not (same_bucket and k in sources)
            # The origin's ad-hoc renditions of a listed source: live, whatever their box.
            and adhoc_source(self.adhoc_template, self.bucket, k) not in sources
        ]

    def judge(self, out_key: str, sources: Collection[str]) -> Verdict:
        """``sources`` were listed before the outputs, so a source uploaded since is
        found by the fresh HEAD, not judged gone."""
        try:
            source_key = self.store.head(self.out_bucket, out_key).metadata.get(META_SOURCE_KEY)
        except ObjectNotFound:
            return Verdict(out_key, Action.KEEP, "gone already")
        except ThumbsmithError as exc:
            return Verdict(out_key, Action.FAILED, str(exc))
        if source_key is None:
            return Verdict(out_key, Action.FOREIGN)
        if source_key in sources or not source_key.startswith(self.prefixes):
            return Verdict(out_key, Action.KEEP)
        try:
            self.store.head(self.bucket, source_key)
        except ObjectNotFound:
            return Verdict(out_key, Action.DELETE, source_key)
        except ThumbsmithError as exc:
            return Verdict(out_key, Action.FAILED, str(exc))
        return Verdict(out_key, Action.KEEP)
