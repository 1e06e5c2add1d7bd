"""The fingerprint is derived from the fields: every option and spec field that shapes
the bytes is in it, per format, and existing renditions keep their hashes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from thumbsmith.core import RenderOptions, RenditionSpec
from thumbsmith.core.formats import KNOBS, OUTPUT


def _changed(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if value == "match":  # a quality matched to JPEG's: a number instead
        return 50
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple) and value and isinstance(value[0], int):
        return tuple(v + 1 if isinstance(v, int) else v for v in value)
    raise AssertionError(f"no change for {value!r}")


SPEC = RenditionSpec("large", 1280, 1280)


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(RenderOptions)])
def test_every_option_that_shapes_bytes_is_in_the_fingerprint(name: str) -> None:
    """A format's knob is in that format's fingerprint (and no other's)."""
    options = RenderOptions()
    field = next(f for f in dataclasses.fields(RenderOptions) if f.name == name)
    change: dict[str, Any] = {name: _changed(getattr(options, name))}
    other = dataclasses.replace(options, **change)
    own = KNOBS.get(name)
    fmt = own or "jpeg"
    differs = options.fingerprint(SPEC, fmt) != other.fingerprint(SPEC, fmt)
    assert differs is (not field.metadata.get("bounds")), name
    for elsewhere in set(OUTPUT) - {fmt}:
        if own is not None:
            assert options.fingerprint(SPEC, elsewhere) == other.fingerprint(SPEC, elsewhere)


SPEC_CHANGES: dict[str, object] = {
    "fit": "cover",
    "position": "attention",
    "upscale": True,
    "animated": True,
    "quality": (("jpeg", 70),),
}


@pytest.mark.parametrize(
    "name", [f.name for f in dataclasses.fields(RenditionSpec) if f.name != "formats"]
)
def test_every_spec_field_is_in_the_fingerprint(name: str) -> None:
    change = SPEC_CHANGES[name] if name in SPEC_CHANGES else _changed(getattr(SPEC, name))
    changes: dict[str, Any] = {name: change}
    other = dataclasses.replace(SPEC, **changes)
    assert RenderOptions().fingerprint(SPEC) != RenderOptions().fingerprint(other)


def test_adding_a_format_keeps_the_other_formats_fingerprints() -> None:
    both = dataclasses.replace(SPEC, formats=("jpeg", "webp"), quality=(("webp", 60),))
    assert RenderOptions().fingerprint(both, "jpeg") == RenderOptions().fingerprint(SPEC)
    assert RenderOptions().fingerprint(both, "webp") != RenderOptions().fingerprint(SPEC)


def test_fingerprints_of_existing_renditions_are_unchanged() -> None:
    """Renditions written before the fingerprint was derived stay current: same hash for
    the same settings, so an upgrade re-renders nothing."""
    import hashlib

    old_payload = {
        "spec": ("large", 1280, 1280),
        "quality": 85,
        "progressive": True,
        "optimize": True,
        "background": (255, 255, 255),
        "strip": True,
        "v": 1,
    }
    old = hashlib.sha256(repr(sorted(old_payload.items())).encode()).hexdigest()[:16]
    assert RenderOptions().fingerprint(SPEC) == old


def test_a_focal_point_enters_only_cover_fingerprints() -> None:
    cover = dataclasses.replace(SPEC, fit="cover")
    options = RenderOptions()
    assert options.fingerprint(SPEC, focus=(0.2, 0.3)) == options.fingerprint(SPEC)
    assert options.fingerprint(cover, focus=None) == options.fingerprint(cover)
    assert options.fingerprint(cover, focus=(0.2, 0.3)) != options.fingerprint(cover)
    assert options.fingerprint(cover, focus=(0.2, 0.3)) != options.fingerprint(
        cover, focus=(0.2, 0.4)
    )
