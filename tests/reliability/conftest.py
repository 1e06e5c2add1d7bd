"""Fixtures for the reliability tests: the fuzz child, and a moto server of their own.

The moto server here does not touch ``os.environ`` for the session (the root conftest has
its own session fixture that does): each test that needs AWS gets the variables through
``monkeypatch``, so the two suites can run in one pytest process.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.fuzzing import Harness
from support.moto_server import AWS_ENV
from support.moto_server import moto_server as start_moto_server


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with Harness() as h:
        yield h


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    with start_moto_server() as url:
        yield url


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """AWS_* pointing boto3 (here and in subprocesses) at the moto server; returns its URL."""
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key in list(__import__("os").environ):
        if key.startswith("THUMBSMITH_"):
            monkeypatch.delenv(key)
    return moto_server
