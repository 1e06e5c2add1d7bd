"""Shared fixtures and markers.

* the third-party corpus, read in place (never copied), skipped when absent;
* a real moto server on 127.0.0.1 and boto3 talking to it over HTTP: no in-process
  patching. The fixture sets ``AWS_ENDPOINT_URL`` and dummy credentials, which boto3 (and
  every subprocess the tests start) honours by itself, exactly as a user pointing
  thumbsmith at MinIO would;
* a real S3 server too, SeaweedFS, started once per session when a test asks for it;
* markers for what a test needs (``moto``, ``seaweedfs``, ``corpus``, ``ghostscript``,
  ``chromium``, ``node``): added here from the fixtures and helpers a test uses, or
  declared by the module, so ``pytest -m "not moto and not chromium"`` runs the rest;
* ``--runslow`` for the long runs.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from support import helpers
from support.aws import Backend
from support.helpers import CORPUS
from support.moto_server import AWS_ENV, moto_server
from support.seaweed_server import NOT_INSTALLED, SeaweedServer, find_weed, start_seaweed
from thumbsmith.settings import Settings, load

#: Fixtures (anywhere in a test's closure) -> the marker of what they need.
FIXTURE_MARKERS = {
    "moto_url": "moto",
    "moto_server": "moto",
    "seaweed": "seaweedfs",
    "corpus": "corpus",
    "manifest": "corpus",
}
#: The corpus helpers: a module that imports one reads the corpus.
CORPUS_HELPERS = {
    id(getattr(helpers, n))
    for n in ("CORPUS", "BY_FILE", "corpus_file", "corpus_bytes", "corpus_entry", "entries")
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run the long runs too")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="long run: use --runslow")
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "seaweedfs":
            item.add_marker("seaweedfs")
        module = getattr(item, "module", None)
        if module is not None and any(id(v) in CORPUS_HELPERS for v in vars(module).values()):
            item.add_marker("corpus")
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "manifest.json").is_file():
        pytest.skip("corpus not found at ../shared/corpus")
    return CORPUS


@pytest.fixture(scope="session")
def manifest(corpus: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((corpus / "manifest.json").read_text())
    return entries


# --- moto: S3 and SQS on 127.0.0.1 ---------------------------------------------------------
@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    saved = {k: os.environ.get(k) for k in [*AWS_ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE"]}
    try:
        with moto_server() as url:
            os.environ.update(AWS_ENV)
            os.environ["AWS_ENDPOINT_URL"] = url
            os.environ.pop("AWS_PROFILE", None)
            yield url
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def s3(moto_url: str) -> Any:
    return boto3.client("s3")


@pytest.fixture(scope="session")
def sqs(moto_url: str) -> Any:
    return boto3.client("sqs")


@pytest.fixture
def name() -> str:
    """A fresh lowercase name per test, valid as bucket and queue name."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(moto_url: str) -> Settings:
    # Few retries: the tests that hit failures should not wait out a long backoff.
    return load(env={"THUMBSMITH_RETRY_ATTEMPTS": "2", "THUMBSMITH_POLL_WAIT": "1"})


# --- a real S3 server too: SeaweedFS -----------------------------------------------------
@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedServer]:
    """One SeaweedFS for the session (~2 s to start), only when a test asks for it."""
    if find_weed() is None:
        pytest.skip(NOT_INSTALLED)
    with start_seaweed() as server:
        yield server


@pytest.fixture(params=["moto", "seaweedfs"])
def backend(
    request: pytest.FixtureRequest, moto_url: str, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> Backend:
    """Each test using it runs twice: against moto and against a real SeaweedFS. The
    process environment points at that server for the test, as a user's would."""
    if request.param == "moto":
        return Backend("moto", s3, {**AWS_ENV, "AWS_ENDPOINT_URL": moto_url})
    server: SeaweedServer = request.getfixturevalue("seaweed")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    env = {k: v for k, v in {**AWS_ENV, **server.env}.items() if k != "AWS_SESSION_TOKEN"}
    return Backend("seaweedfs", server.client(), env)
