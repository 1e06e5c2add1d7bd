"""The format registry is the one home of format facts: everything else agrees with it."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from thumbsmith import settings as S
from thumbsmith.core import formats
from thumbsmith.core.decoders import sniff
from thumbsmith.core.encoders import ENCODERS
from thumbsmith.core.options import RenderOptions
from thumbsmith.core.spec import BOUNDS, FORMATS, parse_spec
from thumbsmith.runners.bootstrap import render_options
from thumbsmith.service import manifest


def test_every_output_has_its_encoder_module_and_knobs() -> None:
    option_fields = {f.name for f in dataclasses.fields(RenderOptions)}
    setting_fields = {f.name for f in S.fields()}
    for fmt in formats.OUTPUTS:
        module = importlib.import_module(fmt.encoder_module)
        assert ENCODERS[fmt.name] is getattr(module, f"encode_{fmt.name}")
        assert set(fmt.knobs) <= option_fields, fmt.name
        assert set(fmt.knobs) <= setting_fields, fmt.name  # every knob is a setting too
    assert set(ENCODERS) == set(formats.OUTPUT) == set(FORMATS)


def test_every_option_is_a_knob_a_bound_or_shared_by_every_format() -> None:
    """A new encoder knob must be named in the registry, or it would re-render every
    format's renditions when it changes."""
    shared = {"background", "strip_metadata"}
    for f in dataclasses.fields(RenderOptions):
        assert f.name in formats.KNOBS or f.metadata == BOUNDS or f.name in shared, f.name


def test_knobs_enter_only_their_own_formats_fingerprint() -> None:
    spec = parse_spec("x=100:jpeg+webp+avif+png")
    base = RenderOptions()
    for fmt in formats.OUTPUTS:
        for knob in fmt.knobs:
            value = getattr(base, knob)
            if isinstance(value, bool):
                other_value: object = not value
            elif value == "match":  # a matched quality: a number instead
                other_value = 50
            else:
                other_value = value + 1
            change: dict[str, Any] = {knob: other_value}
            changed = dataclasses.replace(base, **change)
            for other in formats.OUTPUTS:
                same = base.fingerprint(spec, other.name) == changed.fingerprint(spec, other.name)
                assert same is (other.name != fmt.name), (knob, other.name)


def test_spec_names_and_aliases_come_from_the_registry() -> None:
    assert parse_spec("x=10:jpg").formats == ("jpeg",)
    for name in formats.OUTPUT:
        assert parse_spec(f"x=10:{name}").formats == (name,)


def test_the_manifest_schema_enums_are_the_registry() -> None:
    schema = manifest.schema()
    assert schema["$defs"]["format"]["enum"] == list(formats.OUTPUT)
    source_formats = schema["properties"]["source"]["properties"]["format"]["enum"]
    assert source_formats == list(formats.ALLOWED_FORMATS) == [f.name for f in formats.INPUTS]


def test_the_sniffer_reads_a_header_of_every_input_and_nothing_else() -> None:
    assert set(sniff._PARSERS) == set(formats.INPUT)


def test_single_url_order() -> None:
    assert formats.single_url_order(False) == ("jpeg", "png", "webp", "avif")
    assert formats.single_url_order(True) == ("png", "webp", "avif", "jpeg")


def test_settings_defaults_are_the_cores() -> None:
    """The render defaults are written once (RenderOptions); settings take them."""
    assert render_options(S.load(env={})) == RenderOptions()


def test_each_lossy_format_names_its_quality_knob() -> None:
    for fmt in formats.OUTPUTS:
        assert (fmt.quality_knob is not None) is fmt.lossy, fmt.name
        assert fmt.quality_knob is None or fmt.quality_knob in fmt.knobs
        assert (RenderOptions().setting_for(fmt.name) is None) is (not fmt.lossy)
