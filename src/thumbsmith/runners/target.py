"""Where a runner's sources live: a bucket in S3 or a local folder, and a key prefix.

``s3://bucket/prefix`` opens S3; anything else is a local folder ``ROOT/BUCKET`` whose
parent holds the bucket folders (so ``BUCKET-output`` lands beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from thumbsmith.errors import BucketNotFound
from thumbsmith.service.ports import Store
from thumbsmith.settings import Settings


@dataclass(frozen=True, slots=True)
class Target:
    """A picklable description of where sources live, so child processes can reopen it."""

    scheme: str  # "s3" or "local"
    root: str  # local: the folder holding bucket folders; s3: ""
    bucket: str
    prefix: str | None  # None: use the prefix setting

    def open(self, settings: Settings) -> Store:
        if self.scheme == "s3":
            from thumbsmith.runners.bootstrap import s3_store

            return s3_store(settings)
        from thumbsmith.adapters.storage.local import LocalStore

        return LocalStore(self.root)

    def prefix_or(self, settings: Settings) -> str:
        """The target's own prefix, else the prefix setting."""
        return settings.prefix if self.prefix is None else self.prefix

    def prefixes_or(self, settings: Settings) -> tuple[str, ...]:
        """The target's own prefix, else every prefix processed (the setting's and the
        rules'), leaving out any that another one already covers."""
        if self.prefix is not None:
            return (self.prefix,)
        every = settings.prefixes
        return tuple(p for p in every if not any(p != q and p.startswith(q) for q in every))

    def settings_for(self, settings: Settings) -> Settings:
        """``settings`` with the target's prefix, when it names one."""
        if self.prefix is None or self.prefix == settings.prefix:
            return settings
        return settings.replace(prefix=self.prefix)

    def check(self, settings: Settings) -> None:
        """Refuse, before any object is touched, settings under which this bucket's
        renditions would land under its own watched prefixes (a fixed output bucket
        that is this one); every event is still checked on its own too."""
        self.settings_for(settings).key_mapper.check_no_recursion(self.bucket)

    @property
    def display(self) -> str:
        if self.scheme == "s3":
            return f"s3://{self.bucket}/{self.prefix or ''}"
        return str(Path(self.root) / self.bucket)


def parse_target(text: str, prefix: str | None = None) -> Target:
    if text.startswith("s3://"):
        bucket, _, key_prefix = text[len("s3://") :].partition("/")
        if not bucket:
            raise BucketNotFound(f"no bucket in {text!r}; use s3://BUCKET/PREFIX")
        return Target("s3", "", bucket, prefix if prefix is not None else key_prefix or None)
    path = Path(text).expanduser().resolve()
    if not path.is_dir():
        raise BucketNotFound(f"bucket folder {str(path)!r} does not exist")
    return Target("local", str(path.parent), path.name, prefix)
