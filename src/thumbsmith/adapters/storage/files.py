"""Named files as the objects of one read-only bucket (what ``convert`` reads from).

Every other bucket is forwarded to another store, so renditions land where that store
puts them, with its atomic writes and metadata.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from thumbsmith.adapters.storage.local import file_info
from thumbsmith.errors import ObjectNotFound, StorageError, UnsafeKey
from thumbsmith.service.ports import ObjectInfo, Store, object_name


class FilesStore:
    def __init__(
        self,
        bucket: str,
        files: Mapping[str, Path],
        others: Store,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """``metadata``: the user metadata every file has (``convert --focus``)."""
        self.bucket = bucket
        self.files = dict(files)
        self.others = others
        self.metadata = dict(metadata or {})

    def object_name(self, bucket: str, key: str) -> str:
        """An input file by its path; every other object as the store it goes to names it."""
        if bucket == self.bucket and key in self.files:
            return str(self.files[key])
        return object_name(self.others, bucket, key)

    def _path(self, key: str) -> Path:
        try:
            return self.files[key]
        except KeyError:
            raise ObjectNotFound(f"no input file for key {key!r}") from None

    def get(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        if bucket != self.bucket:
            return self.others.get(bucket, key)
        path = self._path(key)
        try:
            with path.open("rb") as fh:
                stat = os.fstat(fh.fileno())
                data = fh.read()
        except FileNotFoundError:
            raise ObjectNotFound(f"no such file {str(path)!r}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
        return data, file_info(bucket, key, path, data, metadata=self.metadata, stat=stat)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        if bucket != self.bucket:
            return self.others.head(bucket, key)
        return self.get(bucket, key)[1]

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        cache_control: str | None = None,
        content_disposition: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        if bucket == self.bucket:
            raise UnsafeKey(f"{self.object_name(bucket, key)}: the input files are read-only")
        return self.others.put(
            bucket,
            key,
            data,
            content_type=content_type,
            metadata=metadata,
            cache_control=cache_control,
            content_disposition=content_disposition,
            tags=tags,
        )

    def delete(self, bucket: str, key: str) -> None:
        if bucket == self.bucket:
            raise UnsafeKey(f"{self.object_name(bucket, key)}: the input files are read-only")
        self.others.delete(bucket, key)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        if bucket != self.bucket:
            yield from self.others.list(bucket, prefix)
            return
        for key in sorted(self.files):
            if key.startswith(prefix):
                yield self.head(bucket, key)
