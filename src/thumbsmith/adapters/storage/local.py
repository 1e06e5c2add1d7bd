"""Folders as buckets: ``ROOT/B/images/cat.png`` is key ``images/cat.png`` of bucket ``B``.

Writes go to a temp file in the same folder, then ``os.replace``, so a reader sees the
old rendition or the new one, never half of one. Metadata (the S3 user metadata:
source ETag, spec fingerprint) lives in ``ROOT/.thumbsmith-meta/B/<key>.json``: outside
every bucket folder (bucket names cannot start with '.') so it never shows up as a key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from thumbsmith.errors import BucketNotFound, ObjectNotFound, StorageError, UnsafeKey
from thumbsmith.service import ports
from thumbsmith.service.ports import ObjectInfo

META_DIR = ".thumbsmith-meta"
_TMP_PREFIX = ".thumbsmith-tmp-"


def check_bucket_name(bucket: str) -> None:
    if not bucket or bucket.startswith(".") or "/" in bucket or "\0" in bucket:
        raise UnsafeKey(f"invalid bucket name {bucket!r}")


def check_key(key: str) -> list[str]:
    """A key's path parts: the keys every store accepts (:func:`ports.check_key`), and
    none that names this store's own temp files."""
    parts = ports.check_key(key)
    if any(p.startswith(_TMP_PREFIX) for p in parts):
        raise UnsafeKey(f"key {key!r} uses the reserved prefix {_TMP_PREFIX!r}")
    return parts


def is_temp_name(name: str) -> bool:
    """A file name the store uses for a write in progress (never a key)."""
    return name.startswith(_TMP_PREFIX)


def _etag(data: bytes) -> str:
    # Same as S3's ETag for a single-part upload, so local and S3 runs agree.
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


#: ETags of files as last seen, by (path, inode, size, mtime): a HEAD then a GET of one
#: source (every render, and every origin hit) hash it once, not twice. Writes here
#: replace files (a new inode), so a changed file never keeps its old ETag.
_ETAGS: dict[tuple[str, int, int, int], str] = {}
_ETAGS_MAX = 4096


def _file_etag(path: Path, stat: os.stat_result, data: bytes | None) -> str:
    seen = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    etag = _ETAGS.get(seen)
    if etag is None:
        etag = _etag(data if data is not None else path.read_bytes())
        if len(_ETAGS) >= _ETAGS_MAX:
            _ETAGS.clear()
        _ETAGS[seen] = etag
    return etag


def _create_temp(folder: Path) -> tuple[int, str]:
    """A new temp file in ``folder``, created as ``open()`` creates files: mode 0666 less
    the umask (and a default ACL), so a web server running as another user can serve the
    renditions. ``mkstemp`` would make it 0600 whatever the umask says."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = str(folder / f"{_TMP_PREFIX}{secrets.token_hex(8)}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue  # 64 random bits taken: pick again


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise


def file_info(
    bucket: str,
    key: str,
    path: Path,
    data: bytes | None = None,
    *,
    metadata: Mapping[str, str] | None = None,
    content_type: str | None = None,
    cache_control: str | None = None,
    content_disposition: str | None = None,
    stat: os.stat_result | None = None,
) -> ObjectInfo:
    """What a HEAD of ``path`` as object ``key`` of ``bucket`` says; ETag as S3 computes it.
    With ``data``, give the ``stat`` of the file it was read from (``os.fstat``)."""
    try:
        stat = stat or path.stat()
        etag = _file_etag(path, stat, data)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise ObjectNotFound(f"no such file {str(path)!r}") from None
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=stat.st_size,
        etag=etag,
        metadata=dict(metadata or {}),
        last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
        content_type=content_type,
        cache_control=cache_control,
        content_disposition=content_disposition,
    )


class LocalStore:
    """A :class:`~thumbsmith.service.ports.Store` over a root folder of bucket folders."""

    def __init__(self, root: str | Path, *, create_buckets: bool = True) -> None:
        self.root = Path(root).resolve()
        self.create_buckets = create_buckets

    # --- paths ---------------------------------------------------------------------
    def object_name(self, bucket: str, key: str) -> str:
        """How messages name an object: its file, ``ROOT/bucket/key`` (not ``s3://``);
        joined as text, so a prefix keeps its trailing '/'."""
        return f"{self.root}/{bucket}/{key}"

    def bucket_path(self, bucket: str) -> Path:
        check_bucket_name(bucket)
        return self.root / bucket

    def path(self, bucket: str, key: str) -> Path:
        parts = check_key(key)
        base = self.bucket_path(bucket)
        path = base.joinpath(*parts)
        # Belt and braces: symlinks inside the bucket must not lead outside it either.
        if not path.resolve().is_relative_to(base.resolve()):
            raise UnsafeKey(f"key {key!r} resolves outside bucket {bucket!r}")
        return path

    def _meta_path(self, bucket: str, key: str) -> Path:
        return self.root.joinpath(META_DIR, bucket, *check_key(key)).with_name(
            check_key(key)[-1] + ".json"
        )

    def _require_bucket(self, bucket: str, *, create: bool = False) -> Path:
        base = self.bucket_path(bucket)
        if not base.is_dir():
            if create and self.create_buckets:
                base.mkdir(parents=True, exist_ok=True)
            else:
                raise BucketNotFound(f"bucket folder {str(base)!r} does not exist")
        return base

    # --- Store ---------------------------------------------------------------------
    def _info(
        self,
        bucket: str,
        key: str,
        path: Path,
        data: bytes | None = None,
        stat: os.stat_result | None = None,
    ) -> ObjectInfo:
        meta: dict[str, Any] = {}
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, ValueError):
            meta = json.loads(self._meta_path(bucket, key).read_text(encoding="utf-8"))
        return file_info(
            bucket,
            key,
            path,
            data,
            metadata=meta.get("metadata", {}),
            content_type=meta.get("content_type"),
            cache_control=meta.get("cache_control"),
            content_disposition=meta.get("content_disposition"),
            stat=stat,
        )

    def get(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        self._require_bucket(bucket)
        path = self.path(bucket, key)
        try:
            # The bytes and the stat of one open file: a file replaced meanwhile never
            # gets the bytes' ETag.
            with path.open("rb") as fh:
                stat = os.fstat(fh.fileno())
                data = fh.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(f"no such file {str(path)!r}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
        return data, self._info(bucket, key, path, data, stat)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        self._require_bucket(bucket)
        return self._info(bucket, key, self.path(bucket, key))

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
        self._require_bucket(bucket, create=True)
        path = self.path(bucket, key)
        try:
            # Pixels first, then the record of what they came from: a crash in between
            # leaves a rendition without metadata, which the next run simply redoes.
            _atomic_write(path, data)
            record = {
                "content_type": content_type,
                "cache_control": cache_control,
                "content_disposition": content_disposition,
                "metadata": dict(metadata or {}),
                **({"tags": dict(tags)} if tags else {}),
            }
            _atomic_write(self._meta_path(bucket, key), json.dumps(record).encode())
        except OSError as exc:
            raise StorageError(f"cannot write {str(path)!r}: {exc.strerror}") from exc
        return self._info(bucket, key, path, data)

    def delete(self, bucket: str, key: str) -> None:
        self._require_bucket(bucket)
        for path in (self.path(bucket, key), self._meta_path(bucket, key)):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                path.unlink()

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self._require_bucket(bucket)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for filename in sorted(filenames):
                if filename.startswith(_TMP_PREFIX):
                    continue
                path = Path(dirpath) / filename
                key = path.relative_to(base).as_posix()
                if not key.startswith(prefix):
                    continue
                stat = path.stat()
                yield ObjectInfo(
                    bucket=bucket,
                    key=key,
                    size=stat.st_size,
                    etag="",  # unknown until read: hashing every file to list would be slow
                    last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                )
