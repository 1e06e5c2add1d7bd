"""The query of an on-demand request: checked before any work, one id per rendition."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from thumbsmith.errors import BadRequest
from thumbsmith.service.ondemand.params import (
    AUTO,
    AdHoc,
    Limits,
    edge_mark,
    edge_mark_ok,
    parse_id,
    parse_query,
)

LIMITS = Limits(max_side=2000, max_pixels=2_000_000, max_quality=90)


def q(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True)


def test_same_rendition_one_id() -> None:
    a = parse_query(q("w=640"), LIMITS).adhoc
    b = parse_query(q("fit=inside&w=0640&f=webp"), LIMITS).adhoc
    assert a is not None and b is not None
    assert a.id == b.id == "w640-inside"


def test_the_issue_example() -> None:
    query = parse_query(q("w=640&h=480&fit=cover&pos=attention&q=75&f=webp"), LIMITS)
    assert query.format == "webp"
    assert query.adhoc is not None and query.adhoc.id == "w640-h480-cover-attention-q75"
    spec = query.adhoc.spec("webp")
    assert (spec.width, spec.height, spec.fit, spec.position) == (640, 480, "cover", "attention")
    assert spec.quality_for("webp") == 75


def test_format_defaults_to_auto_and_quality_skips_png() -> None:
    query = parse_query(q("w=100&q=50"), LIMITS)
    assert query.format == AUTO
    assert query.adhoc is not None and query.adhoc.spec("png").quality == ()


def test_preset_takes_only_a_format() -> None:
    assert parse_query(q("p=large&f=jpg"), LIMITS).preset == "large"
    with pytest.raises(BadRequest, match="leave out w"):
        parse_query(q("p=large&w=10"), LIMITS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("w=100&zoom=2", "unknown parameter zoom"),
        ("w=100&w=200", "parameter w is given twice"),
        ("w=1&h=2&h=3&w=4", "parameters h, w are given twice"),
        ("w=2001", "1..2000"),
        ("w=-1", "whole number"),
        ("w=1e3", "whole number"),
        ("w=%C2%B2", "whole number"),  # "²".isdigit() holds, int() fails: ASCII digits only
        ("w=%D9%A1%D9%A2", "whole number"),  # Arabic-Indic 12: the edge reads 0-9 only
        ("w=10&q=%D9%A1", "1..90"),
        ("f=gif&w=10", "not a format"),
        ("fit=cover&w=10", "both sides"),
        ("w=10&h=10&pos=entropy", "fit=cover only"),
        ("w=10&fit=stretch", "fit=stretch"),
        ("w=2000&h=2000", "2000000 pixels"),
        ("w=10&q=91", "1..90"),
        ("w=10&q=80&f=png", "lossless"),
        ("fit=cover", "give w="),
    ],
)
def test_bad_queries_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_query(q(text), LIMITS)


@pytest.mark.parametrize(
    "adhoc",
    [
        AdHoc(640, None),
        AdHoc(None, 480),
        AdHoc(640, 480, "cover", "entropy", 60),
        AdHoc(640, 480, "contain"),
        AdHoc(640, 480, "fill", quality=1),
    ],
)
def test_ids_read_back(adhoc: AdHoc) -> None:
    assert parse_id(adhoc.id) == adhoc


@pytest.mark.parametrize(
    "text",
    ["", "w640", "w0640-inside", "w640-inside-center", "w640-h480-cover", "w640-zoom",
     "w640-inside-q", "h480-w640-inside", "w640-h480-fill-attention", "../w640-inside",
     "w\u0661\u0662-inside"],
)  # fmt: skip
def test_other_names_are_not_ids(text: str) -> None:
    assert parse_id(text) is None


def test_edge_mark_under_any_key() -> None:
    key = "_ondemand/images/cat.jpg/w640-inside.webp"
    mark = edge_mark(key, "old")
    assert edge_mark_ok(key, mark, ["new", "old"])
    assert not edge_mark_ok(key, mark, ["new"])
    assert not edge_mark_ok(key + "x", mark, ["old"])
    assert not edge_mark_ok(key, None, ["old"])
    assert "=" not in mark and "+" not in mark and "/" not in mark
