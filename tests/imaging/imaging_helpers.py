"""Helpers for the imaging tests: the third-party corpus (read in place, never copied)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from thumbsmith.imaging import configure
from thumbsmith.specs import parse_renditions

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
SPECS = parse_renditions("large=1280,medium=640,thumb=160")

configure(concurrency=1)


def load_manifest() -> list[dict[str, Any]]:
    path = CORPUS / "manifest.json"
    if not path.is_file():
        return []
    return json.loads(path.read_text())


MANIFEST = load_manifest()


def corpus_bytes(name: str) -> bytes:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} not found")
    return path.read_bytes()


def entries(*expect: str) -> list[Any]:
    """Manifest entries as pytest params (an empty list when the corpus is absent)."""
    return [pytest.param(e, id=e["file"]) for e in MANIFEST if e["expect"] in expect]


def pixels(jpeg: bytes) -> np.ndarray:
    """Decoded RGB pixels of an output JPEG, as float (height, width, 3)."""
    with Image.open(io.BytesIO(jpeg)) as im:
        assert im.format == "JPEG"
        assert im.mode == "RGB"
        return np.asarray(im, dtype=np.float64)
