"""One failure verdict: every runner classifies an exception the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from thumbsmith import settings as S
from thumbsmith.errors import (
    AccessDenied,
    BucketNotFound,
    ConfigError,
    CorruptImage,
    ImageTooLarge,
    TransientError,
    UnsafeKey,
)
from thumbsmith.runners.target import parse_target
from thumbsmith.service.dispatch import classify
from thumbsmith.service.outcome import Failure


def _settings(**env: str) -> S.Settings:
    return S.load(env={f"THUMBSMITH_{k.upper()}": v for k, v in env.items()})


# --- 5. one failure verdict, one worker count -------------------------------------------


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (CorruptImage("x"), Failure.PERMANENT),
        (ImageTooLarge("x"), Failure.PERMANENT),
        (UnsafeKey("x"), Failure.PERMANENT),
        (ConfigError("recursion guard"), Failure.CONFIG),
        (TransientError("503"), Failure.TRANSIENT),
        (AccessDenied("403"), Failure.TRANSIENT),
        (BucketNotFound("gone"), Failure.TRANSIENT),
        (KeyError("bug"), Failure.UNEXPECTED),
    ],
)
def test_one_classification(exc: Exception, failure: Failure) -> None:
    assert classify(exc) is failure


def test_config_error_is_not_permanent_in_backfill_either(tmp_path: Path) -> None:
    """The recursion guard in a backfill is a "config" failure, as on a queue: the
    source is fine, the settings are not."""
    from support.helpers import jpeg
    from thumbsmith.runners.backfill import backfill

    (tmp_path / "photos" / "images").mkdir(parents=True)
    (tmp_path / "photos" / "images" / "a.jpg").write_bytes(jpeg(64, 64))
    unsafe = _settings(output_bucket="photos", prefix="")
    summary = backfill(parse_target(str(tmp_path / "photos")), unsafe, workers=1)
    assert summary.counts == {"config": 1}
    assert "recursion guard" in summary.failures[0]
