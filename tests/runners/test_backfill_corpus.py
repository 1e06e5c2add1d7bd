"""The whole third-party corpus through one backfill: bad files fail alone, by name."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from support.helpers import expected_size, size_of
from thumbsmith import settings as S
from thumbsmith.runners.backfill import backfill
from thumbsmith.runners.target import parse_target


def test_corpus_backfill(corpus: Path, manifest: list[dict[str, Any]], tmp_path: Path) -> None:
    images = tmp_path / "photos" / "images"
    images.mkdir(parents=True)
    for entry in manifest:
        shutil.copyfile(corpus / entry["file"], images / entry["file"])
    settings = S.load(env={})
    summary = backfill(parse_target(str(tmp_path / "photos")), settings, workers=2)

    out = tmp_path / "photos-output"
    failed = {line.split(": ", 1)[0] for line in summary.failures}
    assert summary.total == len(manifest)
    assert summary.counts.get("transient", 0) == 0, summary.failures
    for entry in manifest:
        uri = str(tmp_path.resolve() / "photos" / "images" / entry["file"])  # as messages say
        written = [out / s.name / "images" / f"{entry['file']}.jpg" for s in settings.specs]
        if entry["expect"] == "reject":
            assert uri in failed, f"{entry['file']} should have been rejected"
            assert not any(p.exists() for p in written), f"{entry['file']} left output behind"
        elif entry["expect"] == "ok":
            assert uri not in failed, f"{entry['file']} failed"
            for spec, path in zip(settings.specs, written, strict=True):
                size = size_of(path.read_bytes())
                assert spec.width is not None and spec.height is not None
                if entry["format"] == "EPS":  # vector: rasterised so its long side fills the box
                    assert max(size[0] / spec.width, size[1] / spec.height) > 0.99, path
                    assert size[0] <= spec.width and size[1] <= spec.height, path
                else:
                    assert size == expected_size(entry, spec), path
        else:  # ok-or-reject: all renditions or none, never a partial set
            assert all(p.exists() for p in written) or not any(p.exists() for p in written)
