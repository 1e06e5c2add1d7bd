"""``thumbsmith convert FILE... -o DIR``: named files through the same ``process()``.

Each file is a source object whose key is its path relative to the files' common
parent folder (``a/x.jpg`` and ``b/x.jpg`` stay apart as ``a/x.jpg`` and ``b/x.jpg``;
a single ``photo.heic`` is key ``photo.heic``). ``DIR`` is treated as a bucket folder,
so renditions get the usual keys (``DIR/large/photo.heic.jpg``), atomic writes and
idempotence: converting the same unchanged file again writes nothing. As for every
local bucket, the record of what each rendition was made from is kept beside ``DIR``
in ``.thumbsmith-meta/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from thumbsmith.adapters.storage.files import FilesStore
from thumbsmith.adapters.storage.local import META_DIR, LocalStore
from thumbsmith.errors import ConfigError, ThumbsmithError
from thumbsmith.runners import bootstrap
from thumbsmith.service.events import ObjectEvent
from thumbsmith.service.outcome import Outcome
from thumbsmith.service.renditions import META_FOCUS
from thumbsmith.settings import Settings

#: The name the input files go by as a bucket; never shown (errors name the file).
INPUT_BUCKET = "(files)"


@dataclass(frozen=True, slots=True)
class Converted:
    path: Path
    outcome: Outcome | None = None
    error: str = ""


@dataclass
class ConvertSummary:
    results: list[Converted] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.error)


def source_keys(paths: Sequence[Path]) -> dict[str, Path]:
    """Each distinct file by its key: its path relative to the common parent folder."""
    resolved = list(dict.fromkeys(p.resolve() for p in paths))
    if not resolved:
        return {}
    parent = Path(os.path.commonpath([p.parent for p in resolved]))
    return {p.relative_to(parent).as_posix(): p for p in resolved}


def output_folder(out_dir: Path | str) -> Path:
    """``-o DIR`` made ready as a bucket folder, or a :class:`ConfigError` naming it: not
    empty (that would be the current folder, its parent then the root of the buckets),
    a folder or creatable as one, and writable with the record folder beside it."""
    text = str(out_dir)
    if not text.strip():
        raise ConfigError("-o '': give the folder the renditions go to, e.g. -o out")
    out = Path(text).expanduser().resolve()
    if not out.name:
        raise ConfigError(f"-o {text!r}: the root folder cannot be a bucket folder")
    if out.name.startswith("."):
        # LocalStore keeps its own folders (.thumbsmith-meta) under such names.
        raise ConfigError(f"-o {text!r}: a folder named '.…' cannot be a bucket folder")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"-o {text!r}: {str(out)!r} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"-o {text!r}: cannot create the folder ({exc.strerror})") from None
    # The records of what each rendition came from live beside it (LocalStore's META_DIR).
    records = out.parent / META_DIR
    for folder in (out, records if records.is_dir() else out.parent):
        if not os.access(folder, os.W_OK | os.X_OK):
            why = "read-only file system" if _read_only(folder) else "permission denied"
            raise ConfigError(f"-o {text!r}: cannot write in {str(folder)!r} ({why})")
    return out


def _read_only(folder: Path) -> bool:
    return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)


def convert(
    paths: Sequence[Path],
    out_dir: Path | str,
    settings: Settings,
    *,
    on_result: Callable[[Converted], None] | None = None,
    focus: str | None = None,
) -> ConvertSummary:
    """``focus``: ``"x,y"``, the focal point of every file (as S3 user metadata
    ``focus`` gives it for an object), for ``cover`` crops."""
    out = output_folder(out_dir)  # before any file: a bad -o is one line, not one per file
    summary = ConvertSummary()
    readable = []
    for path in paths:
        if path.is_file() and os.access(path, os.R_OK):
            readable.append(path)
        else:
            summary.results.append(Converted(path, error=f"{path}: cannot read: no such file"))
            if on_result:
                on_result(summary.results[-1])
    files = source_keys(readable)
    metadata = {META_FOCUS: focus} if focus else {}
    store = FilesStore(INPUT_BUCKET, files, LocalStore(out.parent), metadata=metadata)
    settings = settings.replace(prefix="", output_bucket=out.name)
    processor = bootstrap.processor(store, settings)
    for key, path in files.items():
        try:
            result = Converted(path, processor.process(ObjectEvent(INPUT_BUCKET, key)))
        except ThumbsmithError as exc:
            result = Converted(path, error=f"{path}: {exc.reason}")
        summary.results.append(result)
        if on_result:
            on_result(result)
    return summary
