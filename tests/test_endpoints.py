"""Endpoints: a bad one stops start-up with one line naming the variable and the value;
``thumbsmith config`` shows the endpoint in effect and where it came from."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from thumbsmith import settings as S
from thumbsmith.endpoints import check_endpoint
from thumbsmith.errors import ConfigError

BASE = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("THUMBSMITH_", "AWS_ENDPOINT_URL", "AWS_IGNORE"))
}
BASE.update(
    {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1"}
)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "thumbsmith", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**BASE, **env},
        check=False,
    )


@pytest.mark.parametrize(
    ("var", "args"),
    [
        ("THUMBSMITH_S3_ENDPOINT_URL", ("backfill", "s3://photos/images/")),
        ("AWS_ENDPOINT_URL", ("config",)),
        ("THUMBSMITH_SQS_ENDPOINT_URL", ("worker", "--queue-url", "http://q/1/x")),
        ("AWS_ENDPOINT_URL_S3", ("sync", "s3://photos/images/")),
    ],
)
def test_an_endpoint_without_scheme_is_one_line_naming_it(var: str, args: tuple[str, ...]) -> None:
    r = run({var: "127.0.0.1:18333"}, *args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert var in r.stderr and "'127.0.0.1:18333'" in r.stderr and "http://" in r.stderr


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("127.0.0.1:18333", "no scheme"),
        ("localhost:9000", "no scheme"),
        ("minio.internal", "no scheme"),
        ("ftp://127.0.0.1:9000", "not http or https"),
        ("http://127.0.0.1:9000/photos", "without a path"),
        ("http://127.0.0.1:9000?x=1", "without a path"),
        ("http://127.0.0.1:abc", "not a valid URL"),
        ("http://127.0.0.1:99999", "not a valid URL"),
        ("http://", "no scheme"),
        ("http://minio 9000", "spaces"),
    ],
)
def test_bad_endpoints(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_endpoint(value)
    for env in (
        {"THUMBSMITH_S3_ENDPOINT_URL": value},
        {"THUMBSMITH_SQS_ENDPOINT_URL": value},
        {"AWS_ENDPOINT_URL": value},
        {"AWS_ENDPOINT_URL_SQS": value},
    ):
        with pytest.raises(ConfigError) as err:
            S.load(env=env)
        assert next(iter(env)) in str(err.value) and repr(value) in str(err.value)


@pytest.mark.parametrize(
    "value",
    ["", "http://127.0.0.1:9000", "https://acct.r2.cloudflarestorage.com", "http://[::1]:9000/"],
)
def test_good_endpoints(value: str) -> None:
    check_endpoint(value)
    assert S.load(env={"THUMBSMITH_S3_ENDPOINT_URL": value, "AWS_ENDPOINT_URL": value})


def test_ignored_aws_endpoints_are_not_checked() -> None:
    S.load(env={"AWS_ENDPOINT_URL": "nonsense", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})


def test_config_shows_the_effective_endpoints_and_their_source() -> None:
    r = run({"AWS_ENDPOINT_URL": "http://127.0.0.1:8333"}, "config")
    assert "    s3 = http://127.0.0.1:8333    [AWS_ENDPOINT_URL]" in r.stdout
    assert "    sqs = http://127.0.0.1:8333    [AWS_ENDPOINT_URL]" in r.stdout
    r = run(
        {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:8333",
            "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324",
            "THUMBSMITH_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        },
        "config",
    )
    assert "    s3 = http://127.0.0.1:9000    [THUMBSMITH_S3_ENDPOINT_URL]" in r.stdout
    assert "    sqs = http://127.0.0.1:9324    [AWS_ENDPOINT_URL_SQS]" in r.stdout


def test_secret_settings_are_never_printed() -> None:
    secret = "s3cr3t-receive-token"
    r = run({"THUMBSMITH_RECEIVE_TOKEN": secret}, "config")
    assert secret not in r.stdout and "receive_token = '<hidden>'" in r.stdout
    r = run({"THUMBSMITH_RECEIVE_TOKEN": secret}, "config", "--json")
    assert secret not in r.stdout
    settings = S.load(env={"THUMBSMITH_RECEIVE_TOKEN": secret})
    assert settings.receive_token == secret and secret not in repr(settings)


def test_receive_needs_a_token() -> None:
    r = run({}, "receive", "--listen", "127.0.0.1:0")
    assert r.returncode == 2 and "THUMBSMITH_RECEIVE_TOKEN" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_lambda_handler_names_the_bad_variable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from thumbsmith.runners import aws_lambda

    monkeypatch.setenv("AWS_ENDPOINT_URL", "127.0.0.1:18333")
    aws_lambda.use(None)
    try:
        with pytest.raises(ConfigError, match=r"AWS_ENDPOINT_URL = '127\.0\.0\.1:18333'") as err:
            aws_lambda.handler({"Records": []}, None)
        assert err.value.__cause__ is None and err.value.__suppress_context__  # one line
    finally:
        aws_lambda.use(None)
