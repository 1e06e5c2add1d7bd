"""Inputs the fuzzer found, minimized by hand into bytes of our own, each with its fix.

The raw bytes also live in regressions/ so test_fuzz.py replays them in the child.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from thumbsmith.core import render
from thumbsmith.core.spec import parse_renditions
from thumbsmith.errors import CorruptImage

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
SPECS = parse_renditions("large=1280,medium=640,thumb=160")


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, body: bytes, version: int = 0) -> bytes:
    return _box(kind, bytes([version, 0, 0, 0]) + body)


def heic_without_decodable_item() -> bytes:
    """ftyp heic + a meta box whose one hvc1 item has no data (iloc lists nothing).

    libheif opens it with zero top-level images; pillow-heif then raised IndexError on
    ``.mode``, which only render()'s catch-all turned into a CorruptImage.
    Found by ./scripts/fuzz --seed 99 (input 3918, a mutated thumbor__image.heic).
    """
    ftyp = _box(b"ftyp", b"heic" + b"\0" * 4 + b"mif1heic")
    hdlr = _full(b"hdlr", b"\0" * 4 + b"pict" + b"\0" * 13)
    pitm = _full(b"pitm", struct.pack(">H", 1))
    iloc = _full(b"iloc", b"\x44\x00" + struct.pack(">H", 0))
    infe = _full(b"infe", struct.pack(">HH", 1, 0) + b"hvc1\0", version=2)
    iinf = _full(b"iinf", struct.pack(">H", 1) + infe)
    ipco = _box(b"ipco", _full(b"ispe", struct.pack(">II", 1, 1)))
    ipma = _full(b"ipma", struct.pack(">IHB", 1, 1, 1) + b"\x01")
    meta = _full(b"meta", hdlr + pitm + iloc + iinf + _box(b"iprp", ipco + ipma))
    return ftyp + meta


def test_heic_without_decodable_item_is_a_plain_corrupt_image() -> None:
    data = heic_without_decodable_item()
    assert data == (REGRESSIONS / "heic-no-decodable-item.bin").read_bytes()
    with pytest.raises(CorruptImage) as info:
        render(data, SPECS, name="empty.heic")
    assert "unexpected" not in str(info.value), "must be typed at the decoder, not the catch-all"
    assert "no decodable image" in str(info.value)


def test_heic_item_cut_short_is_a_plain_corrupt_image() -> None:
    """pillow-heif raised EOFError ("Unexpected end of file"). Found by ./scripts/fuzz
    --seed 1 (inputs 1502, 1987); the bytes are that input minimized, with every byte
    not needed to reproduce zeroed (734 bytes, no picture data left)."""
    data = (REGRESSIONS / "heic-item-cut-short.bin").read_bytes()
    with pytest.raises(CorruptImage) as info:
        render(data, SPECS, name="short.heic")
    assert "unexpected" not in str(info.value), "must be typed at the decoder, not the catch-all"


def bigtiff_with_an_offset_past_any_index() -> bytes:
    """A BigTIFF header whose first-IFD offset (8 bytes) is 2**63: ``struct.unpack_from``
    raised OverflowError, which only render()'s catch-all typed. Found by ./scripts/fuzz
    --seed 14 (input 399, a mutated sharp__8bit_depth.tiff); rebuilt here from the spec."""
    return b"II+\x00" + struct.pack("<HHQ", 8, 0, 2**63)


def test_bigtiff_offset_overflow_is_a_plain_corrupt_image() -> None:
    data = bigtiff_with_an_offset_past_any_index()
    assert data == (REGRESSIONS / "bigtiff-offset-overflow.bin").read_bytes()
    with pytest.raises(CorruptImage) as info:
        render(data, SPECS, name="big.tif")
    assert "unexpected" not in str(info.value), "must be typed at the sniffer, not the catch-all"
    assert "tiff header is truncated or malformed" in str(info.value)
