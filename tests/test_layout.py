"""The layout's promises: one start-up for every runner, one failure verdict, a pure
core, a derived fingerprint. Each test here pins a bug the old layout had."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pyvips

from thumbsmith import settings as S
from thumbsmith.core import RenderOptions, RenditionSpec, configure
from thumbsmith.errors import (
    AccessDenied,
    BucketNotFound,
    ConfigError,
    CorruptImage,
    ImageTooLarge,
    TransientError,
    UnsafeKey,
)
from thumbsmith.runners import bootstrap, pool
from thumbsmith.runners.target import parse_target
from thumbsmith.service.dispatch import Failure, classify


@pytest.fixture(autouse=True)
def _reset_engine() -> Any:
    yield
    configure(1)


def _settings(**env: str) -> S.Settings:
    return S.load(env={f"THUMBSMITH_{k.upper()}": v for k, v in env.items()})


# --- 1. THUMBSMITH_VIPS_CONCURRENCY reaches every runner --------------------------------


def test_lambda_cold_start_applies_vips_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    from thumbsmith import aws_lambda

    monkeypatch.setenv("THUMBSMITH_VIPS_CONCURRENCY", "3")
    aws_lambda.use(None)
    try:
        aws_lambda.settings()
        assert pyvips.concurrency_get() == 3
    finally:
        aws_lambda.use(None)


def test_worker_children_apply_vips_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    from thumbsmith.runners.worker import Worker

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the child builds an S3 client
    worker = Worker(object(), _settings(vips_concurrency="3"), concurrency=1)  # type: ignore[arg-type]
    with worker._new_pool() as children:
        assert children.submit(pyvips.concurrency_get).result(timeout=60) == 3


def test_backfill_and_watch_children_apply_vips_concurrency(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    target = parse_target(str(tmp_path / "photos"))
    with pool.new_pool(target, _settings(vips_concurrency="3"), 1) as children:
        assert children.submit(pyvips.concurrency_get).result(timeout=60) == 3


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
    from helpers import jpeg
    from thumbsmith.runners.backfill import backfill

    (tmp_path / "photos" / "images").mkdir(parents=True)
    (tmp_path / "photos" / "images" / "a.jpg").write_bytes(jpeg(64, 64))
    unsafe = _settings(output_bucket="{bucket}", prefix="")
    summary = backfill(parse_target(str(tmp_path / "photos")), unsafe, workers=1)
    assert summary.counts == {"config": 1}
    assert "recursion guard" in summary.failures[0]


def test_zero_workers_means_one_per_core_everywhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import threading

    from thumbsmith.runners import watch as watch_module

    cores = os.cpu_count() or 1
    assert bootstrap.worker_count(_settings(workers="0")) == cores
    assert bootstrap.worker_count(_settings(workers="3")) == 3
    assert bootstrap.worker_count(_settings(workers="3"), 2) == 2

    asked: list[int] = []

    def fake_pool(target: object, settings: object, workers: int) -> Any:
        asked.append(workers)
        raise KeyboardInterrupt  # stop right there; watch treats it as Ctrl-C

    monkeypatch.setattr(watch_module.pool, "new_pool", fake_pool)
    (tmp_path / "photos").mkdir()
    watch_module.watch(
        parse_target(str(tmp_path / "photos")),
        _settings(workers="0"),
        on_result=lambda r: None,
        stop=threading.Event(),
    )
    assert asked == [cores]  # watch once turned 0 into 1


# --- 4. the fingerprint is derived from the fields -------------------------------------


def _changed(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if value == "match":  # a quality matched to JPEG's: a number instead
        return 50
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple) and value and isinstance(value[0], int):
        return tuple(v + 1 if isinstance(v, int) else v for v in value)
    raise AssertionError(f"no change for {value!r}")


SPEC = RenditionSpec("large", 1280, 1280)


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(RenderOptions)])
def test_every_option_that_shapes_bytes_is_in_the_fingerprint(name: str) -> None:
    """A format's knob is in that format's fingerprint (and no other's)."""
    options = RenderOptions()
    field = next(f for f in dataclasses.fields(RenderOptions) if f.name == name)
    other = dataclasses.replace(options, **{name: _changed(getattr(options, name))})
    fmt = field.metadata.get("format", "jpeg")
    differs = options.fingerprint(SPEC, fmt) != other.fingerprint(SPEC, fmt)
    assert differs is (not field.metadata.get("bounds")), name
    for elsewhere in {"jpeg", "webp", "avif", "png"} - {field.metadata.get("format", "")}:
        if "format" in field.metadata:
            assert options.fingerprint(SPEC, elsewhere) == other.fingerprint(SPEC, elsewhere)


SPEC_CHANGES: dict[str, object] = {
    "fit": "cover",
    "position": "attention",
    "upscale": True,
    "animated": True,
    "quality": (("jpeg", 70),),
}


@pytest.mark.parametrize(
    "name", [f.name for f in dataclasses.fields(RenditionSpec) if f.name != "formats"]
)
def test_every_spec_field_is_in_the_fingerprint(name: str) -> None:
    change = SPEC_CHANGES[name] if name in SPEC_CHANGES else _changed(getattr(SPEC, name))
    other = dataclasses.replace(SPEC, **{name: change})
    assert RenderOptions().fingerprint(SPEC) != RenderOptions().fingerprint(other)


def test_adding_a_format_keeps_the_other_formats_fingerprints() -> None:
    both = dataclasses.replace(SPEC, formats=("jpeg", "webp"), quality=(("webp", 60),))
    assert RenderOptions().fingerprint(both, "jpeg") == RenderOptions().fingerprint(SPEC)
    assert RenderOptions().fingerprint(both, "webp") != RenderOptions().fingerprint(SPEC)


def test_fingerprints_of_existing_renditions_are_unchanged() -> None:
    """Renditions written before the fingerprint was derived stay current: same hash for
    the same settings, so an upgrade re-renders nothing."""
    import hashlib

    old_payload = {
        "spec": ("large", 1280, 1280),
        "quality": 85,
        "progressive": True,
        "optimize": True,
        "background": (255, 255, 255),
        "strip": True,
        "v": 1,
    }
    old = hashlib.sha256(repr(sorted(old_payload.items())).encode()).hexdigest()[:16]
    assert RenderOptions().fingerprint(SPEC) == old


# --- 3. {bucket} in the key template -----------------------------------------------------


def test_bucket_placeholder_is_substituted() -> None:
    keys = bootstrap.process_config(_settings(key_template="{bucket}/{rendition}/{key}.{ext}")).keys
    assert keys.output_key("photos", "images/cat.png", "large") == "photos/large/images/cat.png.jpg"
    assert keys.output_prefixes("photos") == [
        "photos/large/",
        "photos/medium/",
        "photos/thumb/",
        "photos/manifest/",
    ]


# --- the core stays pure ------------------------------------------------------------------


def test_core_render_imports_no_settings_storage_or_boto3() -> None:
    code = (
        "import sys; from thumbsmith.core import render; render\n"
        "bad = [m for m in sys.modules if m.startswith(('thumbsmith.settings', "
        "'thumbsmith.adapters', 'thumbsmith.service', 'thumbsmith.runners', 'boto3', "
        "'botocore'))]\n"
        "assert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
