"""Shared test helpers: the third-party corpus (read in place, never copied; tests skip
cleanly when it is absent) and small real images made in-test."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.runners.bootstrap import processor
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.ports import Store
from thumbsmith.service.process import Processor

REPO = Path(__file__).resolve().parents[2]
CORPUS = (REPO / ".." / "shared" / "corpus").resolve()


def _load_manifest() -> list[dict[str, Any]]:
    path = CORPUS / "manifest.json"
    entries: list[dict[str, Any]] = json.loads(path.read_text()) if path.is_file() else []
    return entries


#: The corpus manifest's entries; empty when the corpus is absent.
MANIFEST = _load_manifest()
BY_FILE = {e["file"]: e for e in MANIFEST}


def corpus_file(name: str) -> Path:
    """A corpus file, read in place; the test skips when the corpus is absent."""
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} not found")
    return path


def corpus_bytes(name: str) -> bytes:
    return corpus_file(name).read_bytes()


def corpus_entry(name: str) -> dict[str, Any]:
    if name not in BY_FILE:
        pytest.skip(f"corpus file {name} not found")
    return BY_FILE[name]


def entries(*expect: str) -> list[Any]:
    """Manifest entries as pytest params (an empty list when the corpus is absent)."""
    return [pytest.param(e, id=e["file"]) for e in MANIFEST if e["expect"] in expect]


def upright_size(entry: dict[str, Any]) -> tuple[int, int]:
    """A manifest entry's size after EXIF orientation."""
    w, h = entry["width"], entry["height"]
    return (h, w) if (entry.get("orientation") or 1) >= 5 else (w, h)


def expected_size(entry: dict[str, Any], spec: RenditionSpec) -> tuple[int, int]:
    """The exact size a fit-inside rendition of a corpus file must have."""
    return spec.size_for(*upright_size(entry))


def jpeg(width: int = 800, height: int = 600, *, seed: int = 0, orientation: int = 1) -> bytes:
    img = Image.new("RGB", (width, height), (40 + seed % 200, 90, 160))
    draw = ImageDraw.Draw(img)
    draw.rectangle((width // 4, height // 4, width // 2, height // 2), fill=(250, 250, 250))
    draw.text((10, 10), str(seed), fill=(0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 12.0)}  # GPS, which must never reach a rendition
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def wait_for(cond: Callable[[], bool], timeout: float = 30) -> bool:
    """Poll ``cond`` until it holds or ``timeout`` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def photos_store(root: Path) -> LocalStore:
    """A local store under ``root`` with an empty source bucket ``photos``."""
    (root / "photos").mkdir()
    return LocalStore(root)


def proc(store: Store, **env: str) -> Processor:
    """A Processor on ``store`` from defaults plus ``THUMBSMITH_<KEY>=value`` settings."""
    from thumbsmith import settings

    values = {f"THUMBSMITH_{k.upper()}": v for k, v in env.items()}
    return processor(store, settings.load(env=values))


def created(key: str, bucket: str = "photos") -> ObjectEvent:
    return ObjectEvent(bucket, key, EventKind.CREATED)
