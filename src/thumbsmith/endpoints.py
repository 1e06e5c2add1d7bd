"""S3 and SQS endpoints: checked at start-up, and shown with where they came from.

botocore accepts an endpoint only when it has a scheme (``127.0.0.1:9000`` ends in a
raw ``ValueError: Invalid endpoint`` at the first client), happily takes ``ftp://`` and
keeps a path (``http://minio:9000/photos`` then signs requests for the wrong bucket
path). So every endpoint thumbsmith or botocore would use is checked here, once, when
the settings load, and a bad one stops start-up with one line naming the variable.

Precedence is botocore's: an explicit endpoint (``THUMBSMITH_S3_ENDPOINT_URL``) wins over
``AWS_ENDPOINT_URL_<SERVICE>``, which wins over ``AWS_ENDPOINT_URL``, which wins over
``endpoint_url`` in the AWS config file; ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true``
turns the variables and the file off. Empty values count as unset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from thumbsmith.errors import ConfigError

Service = Literal["s3", "sqs"]
AWS_VARS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS")
_IGNORE = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"


def check_endpoint(value: str) -> None:
    """Raise ``ValueError`` with the reason when ``value`` is not a bare http(s) origin."""
    if not value:
        return
    if value != value.strip() or any(c.isspace() for c in value):
        raise ValueError("must not contain spaces")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if not parts.scheme or not parts.netloc:
        hint = value.split("://", 1)[-1]
        raise ValueError(f"has no scheme; write it as http://{hint} or https://{hint}")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"scheme {parts.scheme!r} is not http or https")
    if not parts.hostname:
        raise ValueError("has no host name")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            "must be just scheme://host[:port], without a path (the bucket goes in the "
            "command, not the endpoint)"
        )
    del port


def check_queue_url(value: str) -> None:
    """Raise ``ValueError`` with the reason when ``value`` is not an SQS queue URL
    (``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``, or an SQS-compatible server's
    ``http://host:port/ACCOUNT/NAME``): a bare queue name or a typo would otherwise
    surface as botocore's own error at the first call."""
    example = "https://sqs.us-east-1.amazonaws.com/123456789012/NAME"
    if not value.strip() or any(c.isspace() for c in value):
        raise ValueError(f"is not a queue URL; give one like {example}")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"is not a queue URL; give one like {example} "
            "('aws sqs get-queue-url --queue-name NAME' prints it)"
        )
    if not parts.path.strip("/"):
        raise ValueError(f"has no queue name in its path; give one like {example}")


def _ignored(environ: Mapping[str, str]) -> bool:
    return environ.get(_IGNORE, "").strip().lower() == "true"


def check_aws_environment(environ: Mapping[str, str]) -> None:
    """The ``AWS_ENDPOINT_URL*`` variables botocore would read; one line per bad one."""
    if _ignored(environ):
        return
    for var in AWS_VARS:
        value = environ.get(var, "")
        try:
            check_endpoint(value)
        except ValueError as exc:
            raise ConfigError(f"environment variable {var} = {value!r}: {exc}") from None


def effective(
    service: Service, explicit: str, environ: Mapping[str, str], setting_var: str
) -> tuple[str, str]:
    """``(endpoint, where it came from)`` for ``service``, as botocore will resolve it."""
    if explicit:
        return explicit, setting_var
    if not _ignored(environ):
        for var in (f"AWS_ENDPOINT_URL_{service.upper()}", "AWS_ENDPOINT_URL"):
            if environ.get(var):
                return environ[var], var
        from_file = _config_file_endpoint(service)
        if from_file:
            return from_file, "AWS config file"
    return "", "AWS's own endpoint for the region"


def _config_file_endpoint(service: Service) -> str:
    """``endpoint_url`` of the active profile, if any (per-service ``services`` sections
    are botocore's to resolve; they show as the profile's default here)."""
    try:
        import botocore.session

        config = botocore.session.Session().get_scoped_config()
    except Exception:  # a broken config file is botocore's to report, at the first call
        return ""
    return str(config.get("endpoint_url") or "")
