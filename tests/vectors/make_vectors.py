"""Write ``requests.json``: what the edge must decide for each request, from the Python.

``uv run python tests/vectors/make_vectors.py`` rewrites the file;
tests/vectors/test_vectors.py checks that it is still what this script writes, and
tests/deploy/test_viewer_request.py has node run the CloudFront Function
(deploy/cloudfront/viewer-request.js) against every case. So the edge and the origin
decide alike, or a test fails.

Each case is a request as CloudFront hands it to the function: the URI and the query
string as sent (percent-encoded), the ``Accept`` header, the time. The expected answer is
``decide()``'s, after the decoding the edge does first (the path and each query name and
value percent-decoded as UTF-8, ``+`` in the query a space; anything that does not decode
is a 400), and the request the edge forwards on a 200: ``uri`` the output key with each
segment percent-encoded, and the edge mark for an ad-hoc key. A path outside ``/img/``
passes unchanged, without its query.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from thumbsmith.core.spec import parse_renditions
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ondemand import signing
from thumbsmith.service.ondemand.params import Limits
from thumbsmith.service.ondemand.requests import RequestRules, decide
from thumbsmith.service.rules import parse_rules

HERE = Path(__file__).resolve().parent
OUT = HERE / "requests.json"
NOW = 1_700_000_000
#: What the edge says when a URL does not percent-decode as UTF-8.
MALFORMED = "the URL is not valid percent-encoded UTF-8"

#: The settings the edge gets, as the strings the stack passes (see viewer-request.js).
MAIN: dict[str, Any] = {
    "bucket": "photos",
    "renditions": "large=1280:jpeg+webp+avif,medium=640:webp+jpeg,"
    "thumb=160x160:cover:jpeg+png,card=400x300:Cover:centre",
    "prefix": "images/",
    "rules": "avatars/=thumb",
    "keyTemplate": "{rendition}/{key}.{ext}",
    "adhocTemplate": "_ondemand/{key}/{id}.{ext}",
    "maxSide": 2000,
    "maxPixels": 2000000,
    "maxQuality": 90,
    "formats": "jpeg,webp,avif,png",
    "autoOrder": "avif,webp,jpeg,png",
    "widths": "16,640,1080",
    "signingKeys": "new-key,old-key",
}
CONFIGS: dict[str, dict[str, Any]] = {
    "main": MAIN,
    "unsigned": {**MAIN, "signingKeys": ""},
    "webp-first": {**MAIN, "formats": "jpg,webp", "autoOrder": "webp,jpeg", "rules": ""},
}

CHROMIUM = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI = (
    "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
    "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
)
FIREFOX = "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
OLD_FIREFOX = "image/webp,*/*"
CURL = "*/*"


def _list(text: str) -> tuple[str, ...]:
    aliases = {"jpg": "jpeg"}
    return tuple(aliases.get(f.strip(), f.strip()) for f in text.split(",") if f.strip())


def rules_of(config: dict[str, Any]) -> RequestRules:
    specs = parse_renditions(config["renditions"])
    rules = parse_rules(config["rules"], [s.name for s in specs])
    keys = KeyMapper(
        config["prefix"],
        "{bucket}-output",
        config["keyTemplate"],
        tuple(s.name for s in specs),
        tuple(r.prefix for r in rules),
    )
    limits = Limits(
        config["maxSide"],
        config["maxPixels"],
        config["maxQuality"],
        _list(config["formats"]),
        tuple(int(w) for w in config["widths"].split(",") if w.strip()),
    )
    return RequestRules(
        keys,
        config["bucket"],
        {s.name: s for s in specs},
        limits,
        _list(config["autoOrder"]),
        signing.parse_keys(config["signingKeys"]),
        config["adhocTemplate"],
    )


def expected(config: str, uri: str, query: str, accept: str | None, now: int) -> dict[str, Any]:
    if not uri.startswith(signing.PREFIX):
        return {"status": 200, "uri": uri, "output_key": "", "format": "", "auto": False,
                "mark": "", "reason": ""}  # fmt: skip
    try:
        key = unquote(uri[len(signing.PREFIX) :], errors="strict")
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return {"status": 400, "reason": MALFORMED}
    d = decide(key, pairs, accept, now, rules_of(CONFIGS[config]))
    if not d.ok:
        return {"status": d.status, "reason": d.reason}
    encoded = "/" + "/".join(signing.encode(s) for s in d.output_key.split("/"))
    return {"status": 200, "uri": encoded, "output_key": d.output_key, "format": d.format,
            "auto": d.auto, "mark": d.mark, "reason": ""}  # fmt: skip


def signed(key: str, params: dict[str, str], with_key: str = "new-key") -> str:
    """The query of a signed URL, its parameters in the order given."""
    s = signing.sign(key, params, with_key)
    return "&".join(f"{signing.encode(k)}={signing.encode(v)}" for k, v in params.items()) + (
        f"&s={s}"
    )


def cases() -> list[dict[str, Any]]:
    cat = "images/cat.jpg"
    box = {"w": "640", "h": "480", "fit": "cover", "pos": "attention", "q": "75", "f": "auto"}
    rows: list[tuple[str, str, str, str, str | None, int]] = []

    def add(name: str, uri: str, query: str = "", accept: str | None = None,
            config: str = "main", now: int = NOW) -> None:  # fmt: skip
        rows.append((name, config, uri, query, accept, now))

    img = "/img/images/cat.jpg"
    # --- named renditions, f=auto by browser -------------------------------------------
    browsers = [("chromium", CHROMIUM), ("safari", SAFARI), ("firefox", FIREFOX),
                ("old firefox", OLD_FIREFOX), ("curl", CURL), ("no accept", None)]  # fmt: skip
    for who, header in browsers:
        add(f"preset auto, {who}", img, "p=large&f=auto", header)
        add(f"preset without f, {who}", img, "p=medium", header)
    add("preset explicit webp", img, "p=large&f=webp", CHROMIUM)
    add("preset explicit jpg alias", img, "p=large&f=JPG", CHROMIUM)
    add("preset f with spaces by +", img, "p=large&f=+webp+", CHROMIUM)
    add("preset format it does not make", img, "p=large&f=png")
    add("preset format no origin makes", img, "p=large&f=gif")
    add("preset unknown", img, "p=huge")
    add("preset with a box", img, "p=large&w=10&h=5")
    add("preset with cover and png only", img, "p=thumb&f=auto", CHROMIUM)
    add("preset png when asked", img, "p=thumb&f=auto", "image/png")
    add("preset default formats", img, "p=card", SAFARI)
    add("q-values pick jpeg over webp", img, "p=medium", "image/webp;q=0.5,image/jpeg;q=0.9")
    # --- unsigned widths from the allowlist (Next.js's deviceSizes) -----------------------
    for cfg in ("main", "unsigned"):
        add(f"allowlisted width, {cfg}", img, "w=640&f=auto", CHROMIUM, cfg)
        add(f"allowlisted width no f, {cfg}", img, "w=16", CURL, cfg)
        add(f"width not in the allowlist, {cfg}", img, "w=641", CHROMIUM, cfg)
        add(f"allowlisted width with q, {cfg}", img, "w=640&q=50", CHROMIUM, cfg)
        add(f"allowlisted width with h, {cfg}", img, "w=640&h=10", CHROMIUM, cfg)
        add(f"allowlisted width with exp, {cfg}", img, "w=640&exp=1", CHROMIUM, cfg)
    add("allowlisted width signed too", img, signed("images/cat.jpg", {"w": "640"}), CHROMIUM)
    add("q=0 refuses avif", img, "p=large", "image/avif;q=0,image/webp")
    add("q over 1 is 0", img, "p=large", "image/avif;q=1.5,image/webp;q=0.1")
    add("q as exponent is 0", img, "p=large", "image/avif;q=1e0, image/webp;q=0.001")
    add("accept is case-insensitive", img, "p=large", "IMAGE/AVIF;Q=0.9")
    add("nothing acceptable", img, "p=large", "text/html")
    add("wildcard vouches for jpeg only", img, "p=large", "image/*")
    add("repeated range keeps its first", img, "p=large", "image/webp;q=0,image/webp")
    add("other order, webp first", img, "p=large&f=auto", CHROMIUM, "webp-first")
    # --- keys and prefixes -------------------------------------------------------------
    add("rule prefix", "/img/avatars/me.png", "p=thumb&f=png")
    add("outside every prefix", "/img/other/cat.jpg", "p=large")
    add("the prefix itself", "/img/images/", "p=large")
    add("empty key", "/img/", "p=large")
    add("dot-dot segment", "/img/images/../secret.jpg", "p=large")
    add("empty segment", "/img/images//a.jpg", "p=large")
    add("encoded NUL", "/img/images/a%00.jpg", "p=large")
    add("encoded slash", "/img/images/a%2Fb.jpg", "p=large&f=webp")
    add("long segment", "/img/images/" + "a" * 252 + ".jpg", "p=large")
    add("unicode and spaces", "/img/images/caf%C3%A9%20au%20lait.jpg", "p=large&f=webp")
    add("plus in the path is a plus", "/img/images/a+b.jpg", "p=large&f=jpeg")
    add("encoded plus", "/img/images/a%2Bb.jpg", "p=large&f=jpeg")
    add("quote in the key", "/img/other/it's.jpg", "p=large")
    add("reserved characters", "/img/images/(1)%20%5Bx%5D!%2A~.jpg", "p=medium", SAFARI)
    add("malformed percent-encoding", "/img/images/%E0%A4%A.jpg", "p=large")
    add("invalid UTF-8", "/img/images/%FF.jpg", "p=large")
    add("malformed query", img, "p=large&f=%E0")
    add("lone percent", "/img/images/100%.jpg", "p=large")
    add("percent not hex", "/img/images/%zz%4.jpg", "p=large&f=%zz")
    # --- ad hoc, signed ----------------------------------------------------------------
    add("signed", img, signed(cat, {"w": "640", "f": "webp"}))
    add("signed cover, chromium", img, signed(cat, box), CHROMIUM)
    add("signed cover, safari", img, signed(cat, box), SAFARI)
    add("signed cover, curl", img, signed(cat, box), CURL)
    add("signed, parameters in another order", img,
        signed(cat, {"f": "webp", "fit": "inside", "w": "640"}))  # fmt: skip
    add("signed height only, png", img, signed(cat, {"h": "300", "q": "50"}), "image/png")
    add("signed with the older key", img, signed(cat, {"w": "640"}, "old-key"))
    add("signed with a wrong key", img, signed(cat, {"w": "640"}, "wrong-key"))
    add("tampered", img, signed(cat, {"w": "640"}).replace("w=640", "w=641"))
    add("signature of another key", "/img/images/dog.jpg", signed(cat, {"w": "640"}))
    add("signature garbage", img, "w=640&s=%FE%FF")
    add("unsigned", img, "w=640&f=webp")
    add("empty signature", img, "w=640&s=")
    add("signing off", img, signed(cat, {"w": "640"}), None, "unsigned")
    add("expires later", img, signed(cat, {"w": "640", "exp": str(NOW + 60)}))
    add("expires now", img, signed(cat, {"w": "640", "exp": str(NOW)}))
    add("expired", img, signed(cat, {"w": "640", "exp": str(NOW - 1)}))
    add("bad expiry", img, signed(cat, {"w": "640", "exp": "soon"}))
    add("expiry too long", img, signed(cat, {"w": "640", "exp": "1" * 13}))
    add("expiry in other digits", img, signed(cat, {"w": "640", "exp": "\u0661\u0662"}))
    add("unicode key signed", "/img/images/%E7%8C%AB%20%2B.jpg",
        signed("images/\u732b +.jpg", {"w": "320", "f": "avif"}))  # fmt: skip
    add("space in a signed value", img, signed(cat, {"w": "640", "f": " webp"}))
    add("encoded parameter name", img, signed(cat, {"w": "640"}).replace("w=", "%77="))
    add("value with plus for space", img,
        signed(cat, {"w": "640", "f": " webp"}).replace("%20", "+"))  # fmt: skip
    add("parameter twice by encoding", img, signed(cat, {"w": "640"}) + "&%77=640")
    # --- limits and bad parameters (refused before the signature is read) --------------
    for query in ["w=2001", "w=0", "w=-1", "w=1e3", "w=%C2%B2", "w=2000&h=2000", "w=10&q=91",
                  "w=10&q=0", "w=10&q=80&f=png", "fit=cover&w=10", "w=10&h=10&pos=entropy",
                  "w=10&fit=stretch", "fit=cover", "w=10&f=tiff", "w=10&zoom=2",
                  "w=10&zoom=2&crop=1", "w=1&h=2&h=3&w=4", "w=1&w=1&zoom=1", "f=auto", "",
                  "w", "w=10&q=", "w=10&pos=attention&fit=cover"]:  # fmt: skip
        add(f"query {query!r}", img, query)
    # --- other paths pass through --------------------------------------------------------
    add("premade key", "/large/images/cat.jpg.webp", "", CHROMIUM)
    add("premade key loses its query", "/large/images/cat.jpg.webp", "v=2&p=x")
    add("ondemand key asked directly", "/_ondemand/images/cat.jpg/w640-inside.webp", "")
    add("img without slash", "/img", "p=large")
    out = []
    for name, config, uri, query, accept, now in rows:
        request = {"config": config, "uri": uri, "querystring": query, "accept": accept,
                   "now": now}  # fmt: skip
        out.append({"name": name, "request": request,
                    "expect": expected(config, uri, query, accept, now)})  # fmt: skip
    names = [c["name"] for c in out]
    assert len(names) == len(set(names)), "case names must be unique"
    return out


def render() -> str:
    doc = {
        "about": "Made by tests/vectors/make_vectors.py from thumbsmith.service.ondemand; "
        "checked by tests/vectors/test_vectors.py (Python) and "
        "tests/deploy/test_viewer_request.py (the CloudFront Function). Do not edit.",
        "configs": CONFIGS,
        "cases": cases(),
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT} ({len(json.loads(OUT.read_text())['cases'])} cases)")
