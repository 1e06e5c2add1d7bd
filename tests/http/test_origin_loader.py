"""The manifest's ``loader`` against a real origin (uvicorn on 127.0.0.1): a front-end
that fills in one of the unsigned widths gets that width; any other width is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pyvips

from support.helpers import created, jpeg, proc
from support.origin import CHROMIUM, CURL, fetch, running
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.runners.origin import build
from thumbsmith.runners.target import parse_target
from thumbsmith.settings import load


def test_loader_url_answers_the_width_asked(tmp_path: Path) -> None:
    (tmp_path / "photos" / "images").mkdir(parents=True)
    (tmp_path / "photos" / "images" / "cat.jpg").write_bytes(jpeg(1600, 1200))
    built = build(parse_target(str(tmp_path / "photos")), load(env={}), inline=True)
    with running(built.app) as base:
        store = LocalStore(tmp_path)
        proc(store, origin_public_url=base).process(created("images/cat.jpg"))
        data, _ = store.get("photos-output", "manifest/images/cat.jpg.json")
        loader = json.loads(data)["loader"]
        assert loader == f"{base}/img/images/cat.jpg?w={{width}}"

        path = loader.removeprefix(base)
        for width, accept, fmt in ((640, CHROMIUM, "heif"), (1080, CURL, "jpeg")):
            reply = fetch(base, path.replace("{width}", str(width)), headers={"Accept": accept})
            assert reply.status == 200, reply.body
            img = pyvips.Image.new_from_buffer(reply.body, "")
            assert (img.width, img.height) == (width, width * 3 // 4)
            assert str(img.get("vips-loader")) == f"{fmt}load_buffer"
            assert reply["Vary"] == "Accept"

        # Not in origin_widths (Next.js's sizes by default): unsigned, so refused.
        refused = fetch(base, path.replace("{width}", "641"))
        assert refused.status == 403
