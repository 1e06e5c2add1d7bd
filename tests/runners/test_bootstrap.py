"""One start-up for every runner: THUMBSMITH_VIPS_CONCURRENCY reaches Lambda, the
worker's and the pool's children; one worker count (0 = one per core) everywhere."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import pyvips

from thumbsmith import settings as S
from thumbsmith.core import configure
from thumbsmith.runners import bootstrap, pool
from thumbsmith.runners.target import parse_target


@pytest.fixture(autouse=True)
def _reset_vips() -> Any:
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
    with pool.RenderPool(pool.ChildSetup(_settings(vips_concurrency="3"), target), 1) as children:
        assert children.submit(pyvips.concurrency_get).result(timeout=60) == 3


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

    class Asked(Exception):
        pass

    def fake_pool(setup: object, workers: int) -> Any:
        asked.append(workers)
        raise Asked  # stop right there

    monkeypatch.setattr(pool, "RenderPool", fake_pool)
    (tmp_path / "photos").mkdir()
    with pytest.raises(Asked):
        watch_module.watch(
            parse_target(str(tmp_path / "photos")),
            _settings(workers="0"),
            on_result=lambda r: None,
            stop=threading.Event(),
        )
    assert asked == [cores]  # watch once turned 0 into 1
