"""The whole third-party corpus through one backfill: bad files fail alone, by name."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from helpers import size_of
from thumbsmith import settings as S
from thumbsmith.backfill import backfill
from thumbsmith.specs import largest_first
from thumbsmith.storage.open import parse_target


def test_corpus_backfill(corpus: Path, manifest: list[dict[str, Any]], tmp_path: Path) -> None:
    images = tmp_path / "photos" / "images"
    images.mkdir(parents=True)
    for entry in manifest:
        shutil.copyfile(corpus / entry["file"], images / entry["file"])
    settings = S.load(env={})
    summary = backfill(parse_target(str(tmp_path / "photos")), settings, workers=2, progress=False)

    out = tmp_path / "photos-output"
    failed = {line.split(": ", 1)[0] for line in summary.failures}
    assert summary.total == len(manifest)
    assert summary.counts.get("transient", 0) == 0, summary.failures
    for entry in manifest:
        uri = f"s3://photos/images/{entry['file']}"
        written = [out / s.name / "images" / f"{entry['file']}.jpg" for s in settings.specs]
        if entry["expect"] == "reject":
            assert uri in failed, f"{entry['file']} should have been rejected"
            assert not any(p.exists() for p in written), f"{entry['file']} left output behind"
        elif entry["expect"] == "ok":
            assert uri not in failed, f"{entry['file']} failed"
            large = largest_first(settings.specs)[0]
            w, h = size_of(written[0].read_bytes())
            assert w <= large.width and h <= large.height
            assert all(p.exists() for p in written)
        else:  # ok-or-reject: all renditions or none, never a partial set
            assert all(p.exists() for p in written) or not any(p.exists() for p in written)
