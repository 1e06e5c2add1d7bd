"""A warm, persistent worker for the Python side of the W4 benchmark.

Usage: ``python bench/peers/w4_pyworker.py PEER``, PEER ``thumbsmith`` or ``floor``; the
same JSON-lines protocol as pyworker.py (``run`` with ``path`` and ``save``, ``hwm``,
``quit``). Outputs are named ``<rendition>.<ext>`` and written after the clock stops.

* ``thumbsmith``: one ``render()`` of :data:`W4` at the default options: decode once,
  every output from it.
* ``floor``: what no pipeline can avoid: the decode at the scale thumbsmith chooses (into
  memory), plus every encode, at thumbsmith's settings, of pixels made beforehand (outside
  the clock, by thumbsmith's own steps).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyworker import serve  # same folder: the shared JSON-lines protocol

from thumbsmith.core import RenderOptions, configure, render
from thumbsmith.core.decoders import vips
from thumbsmith.core.decoders.sniff import sniff
from thumbsmith.core.encoders import ENCODERS
from thumbsmith.core.job import Job
from thumbsmith.core.pipeline import STEPS, run
from thumbsmith.core.result import EXTENSIONS
from thumbsmith.core.spec import parse_renditions
from thumbsmith.core.steps.load import load_factor

W4 = parse_renditions(
    "large=1280:avif+webp+jpeg,medium=640:avif+webp+jpeg,thumb=160:avif+webp+jpeg,"
    "card=400:cover:attention:webp"
)
OPTIONS = RenderOptions()
Output = tuple[str, bytes, int, int]


def thumbsmith(path: Path) -> list[Output]:
    result = render(path.read_bytes(), W4, OPTIONS)
    return [(f"{r.name}.{r.extension}", r.data, r.width, r.height) for r in result]


_ready: dict[Path, Job] = {}


def floor(path: Path) -> list[Output]:
    data = path.read_bytes()
    if path not in _ready:  # the pixels to encode, made once, outside the clock
        _ready[path] = run(Job(data, W4, OPTIONS), [s for s in STEPS if s.name != "encode"])
    job = _ready[path]
    header = sniff(data)
    factor = load_factor(header.width, header.height, W4)
    vips.open_scaled(header.format, data, factor).image.copy_memory()
    outs = []
    for index, spec in enumerate(W4):
        image = job.outputs[index]
        for fmt in spec.formats:
            encoded = ENCODERS[fmt](image, OPTIONS, OPTIONS.quality_for(spec, fmt))
            outs.append((f"{spec.name}.{EXTENSIONS[fmt]}", encoded, image.width, image.height))
    return outs


def main() -> None:
    peer = sys.argv[1]
    configure(int(os.environ.get("VIPS_CONCURRENCY", "1") or "1"))
    serve(peer, {"thumbsmith": thumbsmith, "floor": floor}[peer])


if __name__ == "__main__":
    main()
