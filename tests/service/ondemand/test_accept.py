"""f=auto: the format from Accept, as browsers and curl send it."""

from __future__ import annotations

import pytest

from thumbsmith.service.ondemand.accept import negotiate, parse_accept

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI = (
    "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
    "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
)
FIREFOX = "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
OLD_SAFARI = "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
CURL = "*/*"
ALL = ["avif", "webp", "jpeg", "png"]


@pytest.mark.parametrize(
    ("accept", "formats", "alpha", "chosen"),
    [
        (CHROME, ["avif", "webp", "jpeg"], False, "avif"),
        (SAFARI, ["avif", "webp", "jpeg"], False, "avif"),
        (FIREFOX, ["webp", "jpeg"], False, "webp"),
        (OLD_SAFARI, ["avif", "webp", "jpeg"], False, "jpeg"),
        (CURL, ["avif", "webp", "jpeg"], False, "jpeg"),  # a wildcard vouches for JPEG only
        (None, ["avif", "webp", "jpeg"], False, "jpeg"),
        (CURL, ALL, True, "png"),  # alpha kept where PNG is offered
        (OLD_SAFARI, ALL, True, "png"),
        (CHROME, ALL, True, "avif"),
        ("image/avif;q=0,image/webp", ["avif", "webp", "jpeg"], False, "webp"),
        ("image/webp;q=0.9,image/avif;q=0.5", ["avif", "webp", "jpeg"], False, "webp"),
        ("image/jpeg;q=0", ["jpeg"], False, "jpeg"),  # nothing acceptable: still an image
        ("text/html", ["webp", "jpeg"], False, "jpeg"),
    ],
)
def test_negotiate(accept: str | None, formats: list[str], alpha: bool, chosen: str) -> None:
    assert negotiate(accept, formats, has_alpha=alpha) == chosen


def test_order_is_configurable() -> None:
    assert negotiate(CHROME, ["avif", "webp", "jpeg"], order=("webp", "avif", "jpeg")) == "webp"


def test_parse_accept_ignores_junk() -> None:
    assert parse_accept("image/webp;q=abc, ;q=1, nonsense, image/avif;q=2") == {
        "image/webp": 0.0,
        "image/avif": 0.0,
    }


def test_q_follows_rfc_9110_grammar_only() -> None:
    """What float() would take beyond the grammar counts as 0 here and at the edge."""
    header = "image/a;q=0.125, image/b;q=1.000, image/c;q=1e-1, image/d;q=inf, image/e;q=\u0661"
    assert parse_accept(header + ", image/f;q=0.1234, image/g;q=.5, image/h;q= 0.5 ") == {
        "image/a": 0.125,
        "image/b": 1.0,
        "image/c": 0.0,
        "image/d": 0.0,
        "image/e": 0.0,
        "image/f": 0.0,
        "image/g": 0.0,
        "image/h": 0.5,
    }
