"""tests/vectors/requests.json is what the Python decides today, byte for byte.

The CloudFront Function is checked against the same file (tests/node/viewer_request.test.mjs,
run by tests/deploy/test_viewer_request.py), so neither side can drift from the other:
a change to the decision fails here until ``uv run python tests/vectors/make_vectors.py``
rewrites the file, and then fails there until the JavaScript agrees.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from thumbsmith.service.ondemand.params import edge_mark_ok

HERE = Path(__file__).resolve().parent


def make_vectors() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_vectors", HERE / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_file_is_what_the_python_decides() -> None:
    made = make_vectors()
    assert (HERE / "requests.json").read_text(encoding="utf-8") == made.render(), (
        "the decision changed: run `uv run python tests/vectors/make_vectors.py`, then make "
        "deploy/cloudfront/viewer-request.js agree"
    )


def test_every_mark_is_one_the_origin_accepts() -> None:
    doc = json.loads((HERE / "requests.json").read_text(encoding="utf-8"))
    marked = [c for c in doc["cases"] if c["expect"].get("mark")]
    assert len(marked) >= 10
    for case in marked:
        keys = doc["configs"][case["request"]["config"]]["signingKeys"].split(",")
        out = case["expect"]
        assert out["output_key"].startswith("_ondemand/"), case["name"]
        assert edge_mark_ok(out["output_key"], out["mark"], keys[:1]), case["name"]
    statuses = {c["expect"]["status"] for c in doc["cases"]}
    assert statuses == {200, 400, 403, 404}
