"""Rendition specs: what each output is called, its box, how it fits and what it is encoded as.

The compact form (``THUMBSMITH_RENDITIONS``) is ``name=BOX[:token]...`` separated by commas.
``BOX`` is ``W`` (a square box, W x W), ``WxH``, ``Wx`` (width only) or ``xH`` (height
only), each side 1..:data:`MAX_BOX` px; each token is one of

- a fit: ``inside`` (default), ``cover``, ``contain``, ``fill``;
- a position for ``cover``: ``center`` (default), ``entropy``, ``attention``;
- a format list: formats joined by ``+``, each with an optional ``@QUALITY``
  (``avif@45+webp+jpeg``); default ``jpeg``;
- a flag: ``upscale``, ``animated``.

The vocabularies do not overlap, so tokens may come in any order::

    large=1280:avif+webp+jpeg,card=400x300:cover:attention:webp+jpeg,thumb=160

The same specs come from TOML tables (:func:`spec_from_table`), and
:func:`format_renditions` writes any specs back in the compact form.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from thumbsmith.core.formats import OUTPUT, OUTPUT_NAMES
from thumbsmith.errors import SpecError

DEFAULT_RENDITIONS = "large=1280,medium=640,thumb=160"
#: Where spec text comes from unless the caller says (errors name it): the setting.
RENDITIONS_SETTING = "setting 'renditions'"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# W, WxH, Wx or xH (which of these the parts make is checked in _box).
_BOX = re.compile(r"^(\d{1,5})?(x)?(\d{1,5})?$")
#: The largest side a box may give, and what an omitted side is bounded by.
MAX_BOX = 16384
BOX_FORMS = (
    f"use W (a W x W box), WxH, Wx (width only) or xH (height only), each side 1..{MAX_BOX} px"
)
#: Names the key template uses for things that are not renditions (the manifest). Names
#: are compared without case: ``Large/`` and ``large/`` are one folder on the
#: case-insensitive file systems local buckets may live on.
RESERVED_NAMES = frozenset({"manifest"})

FITS = ("inside", "cover", "contain", "fill")
POSITIONS = ("center", "entropy", "attention")
FORMATS = tuple(OUTPUT)
_ALIASES = {"centre": "center"}
FLAGS = ("upscale", "animated")

#: Field metadata: ``bounds`` marks a field that limits the work but never changes the
#: bytes of an output that succeeds, so it is left out of the fingerprint.
BOUNDS = {"bounds": True}
#: Field metadata: a spec field that the fingerprint reads per format (see
#: :meth:`RenditionSpec.for_format`), so adding a format does not re-render the others.
PER_FORMAT = {"per_format": True}


def neutral(value: Any) -> dict[str, Any]:
    """Metadata for a shaping field added later, whose ``value`` reproduces old output.

    At that value the field is left out of the fingerprint, so adding it does not
    re-render renditions that are already right.
    """
    return {"neutral": value}


@dataclass(frozen=True, slots=True)
class RenditionSpec:
    """One output. ``width``/``height`` are the box; ``fit`` says how the image meets it.

    A side of ``None`` is unbounded (``1280x``: 1280 wide, any height, as sharp's
    ``resize({width: 1280})``), up to :data:`MAX_BOX`; only fit ``inside`` takes one.

    Every field shapes the output's bytes, so every field is part of its fingerprint
    (:meth:`thumbsmith.core.options.RenderOptions.fingerprint`), per format.
    """

    name: str
    width: int | None
    height: int | None
    fit: str = field(default="inside", metadata=neutral("inside"))
    position: str = field(default="center", metadata=neutral("center"))
    formats: tuple[str, ...] = field(default=("jpeg",), metadata=PER_FORMAT)
    upscale: bool = field(default=False, metadata=neutral(False))
    animated: bool = field(default=False, metadata=neutral(False))
    #: Per-format quality overrides of the options' defaults: ``(("avif", 45),)``.
    quality: tuple[tuple[str, int], ...] = field(default=(), metadata=PER_FORMAT)

    def quality_for(self, fmt: str) -> int | None:
        return dict(self.quality).get(fmt)

    def for_format(self, fmt: str) -> tuple[object, ...]:
        """The field values that shape this spec's ``fmt`` output (for the fingerprint).

        The format list and the other formats' qualities are left out, so adding AVIF to
        a JPEG rendition leaves the JPEG's fingerprint, and its object, as they were.
        """
        values: list[object] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "quality":
                q = self.quality_for(fmt)
                if q is not None:
                    values.append(("quality", q))
            elif "per_format" in f.metadata:
                continue
            elif not ("neutral" in f.metadata and value == f.metadata["neutral"]):
                values.append(value)
        return tuple(values)

    def size_for(self, src_width: int, src_height: int) -> tuple[int, int]:
        """The output's size for an upright source of the given size."""
        return plan_size(self, src_width, src_height)[2:]

    @property
    def box(self) -> str:
        """The box as the compact form writes it: ``1280``, ``400x300``, ``1280x``, ``x600``."""
        if self.width == self.height:
            return str(self.width)
        return f"{self.width or ''}x{self.height or ''}"


def _px(x: float) -> int:
    return max(1, round(x))


def plan_size(spec: RenditionSpec, sw: int, sh: int) -> tuple[int, int, int, int]:
    """``(resize_w, resize_h, out_w, out_h)`` for an upright ``sw`` x ``sh`` source.

    The whole source is resized to ``resize_*`` (aspect kept except for ``fill``), then
    ``cover`` crops and ``contain`` pads that to ``out_*`` (an upscaled ``cover`` crops
    the box's aspect from the source and enlarges only that). Without ``upscale`` nothing is
    enlarged: a source smaller than the box gives ``cover``/``contain`` the box's aspect
    at the largest size the source allows (120x90 into a 400x400 cover: 90x90; into a
    300x300 contain: 120x120 padded), and ``fill`` the box's aspect at the source's
    scale. Each side stays at least 1 px, so a 940x2 strip does not collapse.
    """
    if spec.width is None or spec.height is None:
        if spec.fit != "inside":
            # Parsing refuses this; a spec built in code gets the same typed error.
            raise SpecError(f"rendition {spec.name!r}: fit {spec.fit!r} needs both sides")
        # An omitted side bounds nothing but the largest output any box may give.
        bw, bh = spec.width or MAX_BOX, spec.height or MAX_BOX
    else:
        bw, bh = spec.width, spec.height
    sx, sy = bw / sw, bh / sh
    if spec.fit == "inside":
        s = min(sx, sy) if spec.upscale else min(sx, sy, 1.0)
        rw, rh = _px(sw * s), _px(sh * s)
        return rw, rh, rw, rh
    if spec.fit == "cover":
        s = max(sx, sy)
        if s <= 1.0:
            return max(bw, _px(sw * s)), max(bh, _px(sh * s)), bw, bh
        if spec.upscale:
            # Crop first, then enlarge the window alone: enlarging the whole of a 940x2
            # strip to cover 320x240 would make a 112800x240 image to throw most away.
            return sw, sh, bw, bh
        return sw, sh, min(sw, _px(bw / s)), min(sh, _px(bh / s))
    if spec.fit == "contain":
        s = min(sx, sy)
        if spec.upscale or s <= 1.0:
            return min(bw, _px(sw * s)), min(bh, _px(sh * s)), bw, bh
        return sw, sh, max(sw, _px(bw / s)), max(sh, _px(bh / s))
    t = max(sx, sy)  # fill
    if spec.upscale or t <= 1.0:
        return bw, bh, bw, bh
    ow, oh = min(sw, _px(bw / t)), min(sh, _px(bh / t))
    return ow, oh, ow, oh


# --- parsing ---------------------------------------------------------------------------
def _bad(source: str, name: str, what: str, value: object, expected: str) -> SpecError:
    return SpecError(f"{source}: rendition {name!r}: {what} {value!r} is not valid; {expected}")


def _box(source: str, name: str, box: str) -> tuple[int | None, int | None]:
    """``W`` (W x W), ``WxH``, ``Wx`` or ``xH``; every other text, and every side out of
    range, gets the one message that lists the forms and the range."""
    match = _BOX.match(box.strip().lower())
    w, x, h = match.groups() if match else (None, None, None)
    if w is None and h is None:
        raise _bad(source, name, "box", box, BOX_FORMS)
    width = int(w) if w is not None else None
    height = int(h) if h is not None else None if x else width
    if any(side is not None and not 1 <= side <= MAX_BOX for side in (width, height)):
        raise _bad(source, name, "box", box, BOX_FORMS)
    return width, height


def _formats(
    source: str, name: str, items: list[str]
) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    formats: list[str] = []
    quality: list[tuple[str, int]] = []
    for item in items:
        alias, at, q = str(item).strip().lower().partition("@")
        fmt = OUTPUT_NAMES.get(alias, "")
        if not fmt:
            raise _bad(source, name, "format", item, f"choose from {', '.join(FORMATS)}")
        if fmt in formats:
            raise _bad(source, name, "format", item, "each format once")
        formats.append(fmt)
        if at:
            quality.append((fmt, _quality(source, name, fmt, q)))
    if not formats:
        raise _bad(source, name, "formats", items, "give at least one format")
    return tuple(formats), tuple(quality)


def _quality(source: str, name: str, fmt: str, raw: object) -> int:
    if not OUTPUT[fmt].lossy:
        raise _bad(
            source,
            name,
            f"quality of {fmt}",
            raw,
            f"{fmt.upper()} is lossless: a quality means nothing",
        )
    try:
        q = int(str(raw))
    except ValueError:
        q = 0
    if isinstance(raw, bool) or not 1 <= q <= 100:
        raise _bad(source, name, f"quality of {fmt}", raw, "use 1..100")
    return q


def _checked(source: str, spec: RenditionSpec) -> RenditionSpec:
    if (spec.width is None or spec.height is None) and spec.fit != "inside":
        raise _bad(
            source,
            spec.name,
            "box",
            spec.box,
            f"fit {spec.fit!r} fills a box of both sides: give WxH (a one-sided box is for "
            "fit 'inside')",
        )
    if spec.position != "center" and spec.fit != "cover":
        raise _bad(source, spec.name, "position", spec.position, "it applies to fit 'cover' only")
    if spec.animated and "webp" not in spec.formats:
        raise _bad(source, spec.name, "animated", True, "an animation is written as WebP: add webp")
    return spec


def parse_spec(part: str, *, source: str = RENDITIONS_SETTING) -> RenditionSpec:
    """One compact ``name=BOX[:token]...``; errors name the rendition, field and value."""
    name, sep, rest = part.partition("=")
    name = name.strip()
    if not sep or not _NAME.match(name):
        raise SpecError(
            f"{source}: {part!r} is not 'name=BOX' (names use letters, digits, "
            f"'-' and '_'; for the box {BOX_FORMS})"
        )
    box, *tokens = rest.split(":")
    width, height = _box(source, name, box)
    values: dict[str, Any] = {}
    for raw in tokens:
        token = raw.strip().lower()
        token = _ALIASES.get(token, token)
        key = (
            "fit"
            if token in FITS
            else "position"
            if token in POSITIONS
            else token
            if token in FLAGS
            else "formats"
        )
        if key in values:
            raise _bad(source, name, key, raw, f"give the {key} once")
        if key == "formats":
            if "+" not in token and token.partition("@")[0] not in OUTPUT_NAMES:
                raise _bad(
                    source,
                    name,
                    "token",
                    raw,
                    f"use a fit ({', '.join(FITS)}), a position ({', '.join(POSITIONS)}), "
                    f"formats joined by '+' ({', '.join(FORMATS)}) or a flag ({', '.join(FLAGS)})",
                )
            values["formats"], values["quality"] = _formats(source, name, token.split("+"))
        else:
            values[key] = True if key in FLAGS else token
    if "formats" in values and "quality" not in values:
        values["quality"] = ()
    return _checked(source, RenditionSpec(name, width, height, **values))


_TABLE_KEYS = {"box", "fit", "position", "formats", "upscale", "animated", "quality"}


def spec_from_table(
    name: str, table: Mapping[str, Any], *, source: str = RENDITIONS_SETTING
) -> RenditionSpec:
    """One ``[renditions.NAME]`` TOML table: ``box``, ``fit``, ``position``, ``formats``,
    ``upscale``, ``animated`` and ``quality`` (a number for every format, or a table
    ``{avif = 45}``)."""
    if not _NAME.match(name):
        raise SpecError(f"{source}: rendition name {name!r} is not valid")
    unknown = sorted(set(table) - _TABLE_KEYS)
    if unknown:
        raise _bad(source, name, "field", unknown[0], f"known: {', '.join(sorted(_TABLE_KEYS))}")
    if "box" not in table:
        raise _bad(source, name, "box", None, "every rendition needs a box")
    width, height = _box(source, name, str(table["box"]))
    values: dict[str, Any] = {}
    for key, choices in (("fit", FITS), ("position", POSITIONS)):
        if key in table:
            value = _ALIASES.get(str(table[key]).lower(), str(table[key]).lower())
            if value not in choices:
                raise _bad(source, name, key, table[key], f"choose from {', '.join(choices)}")
            values[key] = value
    for key in FLAGS:
        if key in table:
            if not isinstance(table[key], bool):
                raise _bad(source, name, key, table[key], "use true or false")
            values[key] = table[key]
    formats = table.get("formats", ["jpeg"])
    if isinstance(formats, str) or not isinstance(formats, list):
        raise _bad(source, name, "formats", formats, 'use a list like ["webp", "jpeg"]')
    values["formats"], _ = _formats(source, name, formats)
    quality = table.get("quality", {})
    if not isinstance(quality, dict):  # one number: every lossy format
        quality = {f: quality for f in values["formats"] if OUTPUT[f].lossy}
    pairs = []
    for alias, q in quality.items():
        fmt = OUTPUT_NAMES.get(alias, alias)
        if fmt not in values["formats"]:
            raise _bad(source, name, "quality", fmt, "it is not one of the rendition's formats")
        pairs.append((fmt, _quality(source, name, fmt, q)))
    values["quality"] = tuple(pairs)
    return _checked(source, RenditionSpec(name, width, height, **values))


def format_spec(spec: RenditionSpec) -> str:
    """The compact form of one spec (what :func:`parse_spec` reads back)."""
    parts = [f"{spec.name}={spec.box}"]
    if spec.fit != "inside":
        parts.append(spec.fit)
    if spec.position != "center":
        parts.append(spec.position)
    quality = dict(spec.quality)
    if spec.formats != ("jpeg",) or quality:
        parts.append("+".join(f + (f"@{quality[f]}" if f in quality else "") for f in spec.formats))
    parts += [flag for flag in FLAGS if getattr(spec, flag)]
    return ":".join(parts)


def format_renditions(specs: tuple[RenditionSpec, ...]) -> str:
    return ",".join(format_spec(s) for s in specs)


def _unique(specs: list[RenditionSpec], source: str) -> tuple[RenditionSpec, ...]:
    if not specs:
        raise SpecError(f"{source}: at least one rendition is needed")
    names = [s.name for s in specs]
    if len({n.lower() for n in names}) != len(names):
        raise SpecError(
            f"{source}: rendition names must be unique, ignoring case (each "
            f"names a key folder), got {names}"
        )
    for name in names:
        if name.lower() in RESERVED_NAMES:
            raise SpecError(
                f"{source}: rendition name {name!r} is reserved (the manifest's "
                "key uses it); pick another name"
            )
    return tuple(specs)


def parse_renditions(text: str, *, source: str = RENDITIONS_SETTING) -> tuple[RenditionSpec, ...]:
    """Parse the compact form; errors name the source, the rendition and the bad part."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return _unique([parse_spec(p, source=source) for p in parts], source)


def renditions_from_tables(
    tables: Mapping[str, Any], *, source: str = RENDITIONS_SETTING
) -> tuple[RenditionSpec, ...]:
    """``[renditions.NAME]`` tables, in file order."""
    specs = []
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            raise _bad(source, name, "table", table, "use a [renditions.NAME] table")
        specs.append(spec_from_table(name, table, source=source))
    return _unique(specs, source)
