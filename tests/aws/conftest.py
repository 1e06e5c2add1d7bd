"""A real moto server on 127.0.0.1 and boto3 talking to it over HTTP.

No in-process patching: the fixture sets ``AWS_ENDPOINT_URL`` and dummy credentials,
which boto3 (and every subprocess the tests start) honours by itself, exactly as a user
pointing thumbsmith at MinIO would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_helpers import Backend, render_available

from moto_server import AWS_ENV, moto_server
from seaweed_server import NOT_INSTALLED, SeaweedServer, find_weed, start_seaweed
from thumbsmith.settings import Settings, load


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


@pytest.fixture(scope="session")
def needs_render() -> None:
    if not render_available():
        pytest.skip("thumbsmith.pipeline.render is not implemented yet")


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
