"""The decision the edge and the origin share: an answer now, or the output key to serve."""

from __future__ import annotations

from thumbsmith.core.spec import parse_renditions
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ondemand import signing
from thumbsmith.service.ondemand.params import Limits, edge_mark_ok
from thumbsmith.service.ondemand.requests import RequestRules, decide

SPECS = parse_renditions("large=1280:jpeg+webp+avif,thumb=160x160:cover:jpeg+png")
KEYS = KeyMapper("images/", "{bucket}-output", "{rendition}/{key}.{ext}", ("large", "thumb"))
RULES = RequestRules(KEYS, "photos", {s.name: s for s in SPECS}, signing_keys=("new", "old"))
CHROMIUM = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI = "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"  # noqa: E501


def signed(key: str, params: dict[str, str], with_key: str = "old") -> list[tuple[str, str]]:
    return [*params.items(), ("s", signing.sign(key, params, with_key))]


def test_a_preset_becomes_its_premade_key() -> None:
    d = decide("images/cat.jpg", [("p", "large"), ("f", "auto")], CHROMIUM, 0, RULES)
    assert (d.status, d.output_key, d.format, d.auto) == (
        200,
        "large/images/cat.jpg.avif",
        "avif",
        True,
    )
    d = decide("images/cat.jpg", [("p", "large")], "*/*", 0, RULES)
    assert (d.output_key, d.auto) == ("large/images/cat.jpg.jpg", True)
    d = decide("images/cat.jpg", [("p", "thumb"), ("f", "png")], None, 0, RULES)
    assert (d.output_key, d.auto) == ("thumb/images/cat.jpg.png", False)


def test_a_preset_refuses_what_it_does_not_make() -> None:
    assert decide("images/cat.jpg", [("p", "thumb"), ("f", "avif")], None, 0, RULES).status == 400
    d = decide("images/cat.jpg", [("p", "huge")], None, 0, RULES)
    assert d.status == 400 and "large, thumb" in d.reason


def test_signed_adhoc_gets_its_own_key_and_the_edge_mark() -> None:
    params = {"w": "640", "h": "480", "fit": "cover", "pos": "attention", "q": "75", "f": "auto"}
    d = decide("images/cat.jpg", signed("images/cat.jpg", params), SAFARI, 0, RULES)
    assert d.status == 200, d.reason
    assert d.output_key == "_ondemand/images/cat.jpg/w640-h480-cover-attention-q75.avif"
    assert edge_mark_ok(d.output_key, d.mark, ["new"])
    curl = decide("images/cat.jpg", signed("images/cat.jpg", params), "*/*", 0, RULES)
    assert curl.output_key.endswith("-q75.jpg") and curl.auto


def test_adhoc_refusals() -> None:
    key = "images/cat.jpg"
    params = {"w": "640", "exp": "100"}
    assert decide(key, [("w", "640")], None, 0, RULES).status == 403
    assert decide(key, signed(key, params), None, 99, RULES).status == 200
    expired = decide(key, signed(key, params), None, 101, RULES)
    assert (expired.status, expired.reason) == (403, "this signed URL has expired")
    assert decide(key, signed(key, params, "wrong"), None, 0, RULES).status == 403
    tampered = [("w", "641"), *signed(key, params)[1:]]
    assert decide(key, tampered, None, 0, RULES).status == 403
    off = RequestRules(KEYS, "photos", RULES.renditions)
    assert "no signing key" in decide(key, signed(key, params), None, 0, off).reason


def test_sources_only_under_the_prefixes() -> None:
    assert decide("other/cat.jpg", [("p", "large")], None, 0, RULES).status == 404
    assert decide("images/../x.jpg", [("p", "large")], None, 0, RULES).status == 400
    assert decide("images/cat.jpg", [("p", "large"), ("x", "1")], None, 0, RULES).status == 400


def test_allowlisted_widths_need_no_signature() -> None:
    widths = RequestRules(KEYS, "photos", RULES.renditions, limits=Limits(widths=(640, 1080)))
    d = decide("images/cat.jpg", [("w", "640"), ("f", "auto")], CHROMIUM, 0, widths)
    assert (d.status, d.output_key, d.mark) == (
        200,
        "_ondemand/images/cat.jpg/w640-inside.avif",
        "",
    )
    for pairs in ([("w", "641")], [("w", "640"), ("q", "50")], [("w", "640"), ("h", "10")]):
        assert decide("images/cat.jpg", pairs, None, 0, widths).status == 403, pairs
