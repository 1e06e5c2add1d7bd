"""serve with the origin mounted at /origin (uvicorn on 127.0.0.1): the page's
``/api/ondemand`` signs a URL for any width, and that URL renders, then hits."""

from __future__ import annotations

import json
from pathlib import Path

import pyvips
from starlette.applications import Starlette

from support.helpers import jpeg
from support.origin import fetch, running
from thumbsmith import settings as S
from thumbsmith.runners.serve import build
from thumbsmith.runners.target import parse_target
from thumbsmith.service.ondemand.signing import signed_path

KEY = "configured-key-0123456789"


def serve_app(tmp_path: Path, **env: str) -> Starlette:
    (tmp_path / "photos" / "images").mkdir(parents=True)
    (tmp_path / "photos" / "images" / "cat.jpg").write_bytes(jpeg(800, 600))
    settings = S.load(env={S.env_name(k): v for k, v in env.items()})
    return build(parse_target(str(tmp_path / "photos")), settings, allowed_hosts=("*",))


def test_any_width_renders_once_then_hits(tmp_path: Path) -> None:
    with running(serve_app(tmp_path)) as base:
        view = json.loads(fetch(base, "/api/source?key=images/cat.jpg").body)
        assert view["ondemand"]["formats"] == ["auto", "jpeg", "webp", "avif", "png"]
        signed = fetch(base, "/api/ondemand?key=images/cat.jpg&w=333&f=webp")
        assert signed.status == 200, signed.body
        url = json.loads(signed.body)["url"]
        assert url.startswith("/origin/img/images/cat.jpg?f=webp&w=333&s=")
        first, again = fetch(base, url), fetch(base, url)
        assert (first.status, first["X-Thumbsmith-Cache"], first["Content-Type"]) == (
            200,
            "MISS",
            "image/webp",
        )
        img = pyvips.Image.new_from_buffer(first.body, "")
        assert (img.width, img.height) == (333, 250)
        assert again["X-Thumbsmith-Cache"] == "HIT" and again.body == first.body
        written = tmp_path / "photos-output/_ondemand/images/cat.jpg/w333-inside.webp"
        assert written.read_bytes() == first.body


def test_the_page_signs_with_the_configured_key(tmp_path: Path) -> None:
    with running(serve_app(tmp_path, origin_signing_keys=KEY)) as base:
        url = json.loads(fetch(base, "/api/ondemand?key=images/cat.jpg&w=64&f=auto").body)["url"]
        assert url == "/origin" + signed_path("images/cat.jpg", {"w": "64", "f": "auto"}, KEY)


def test_bad_asks_are_refused_saying_why(tmp_path: Path) -> None:
    with running(serve_app(tmp_path)) as base:
        for query, status, words in (
            ("key=images/cat.jpg&w=0&f=webp", 400, "give a width from 1 to 4096"),
            ("key=images/cat.jpg&w=300&f=gif", 400, "use auto or one of jpeg, webp, avif, png"),
            ("key=images/nope.jpg&w=300&f=webp", 404, "no source 'images/nope.jpg'"),
        ):
            reply = fetch(base, f"/api/ondemand?{query}")
            assert reply.status == status, (query, reply.body)
            assert words in json.loads(reply.body)["detail"], (query, reply.body)
