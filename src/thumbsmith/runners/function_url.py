"""The on-demand origin on Lambda, behind a function URL (``thumbsmith.aws_lambda.handler``).

A function URL hands the function one HTTP request as an event in API Gateway's payload
format 2.0 and takes back a dict (status, headers, body; binary bodies base64). Mangum,
the ASGI adapter kept by Starlette's maintainer, turns one into the other for the very
Starlette app ``thumbsmith origin`` serves under uvicorn (:func:`thumbsmith.runners.
origin.build`). Powertools' function-URL resolver would not fit: it is a router of its
own, so the routes, the 304s and the single flight would exist twice.

* Built once per container, on its first function-URL request: the app over the source
  bucket ``THUMBSMITH_ORIGIN_BUCKET``, rendering inline, one render at a time (the
  template's reserved concurrency sends one request at a time to an instance anyway),
  lifespan off (nothing to start or stop).
* A rendition over :data:`MAX_RESPONSE_BYTES` is written to the output bucket as always
  and answered ``302`` to the same path with ``Cache-Control: private, no-store``: the
  CDN's retry finds it in the bucket.
* Every answered request becomes EMF metrics through :func:`metrics_of`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.metrics import MetricUnit
from mangum import Mangum

from thumbsmith.errors import ConfigError
from thumbsmith.http.origin.app import Answered, Report
from thumbsmith.runners.origin import build
from thumbsmith.runners.target import Target
from thumbsmith.settings import Settings, env_name

#: Lambda answers a buffered (synchronous) invocation with at most 6 MB of JSON, and a
#: binary body goes in it base64-encoded (4/3 as large): 4.5 MB of image is 6.0 MB,
#: with room left for the headers.
MAX_RESPONSE_BYTES = 4_500_000


def is_request(event: object) -> bool:
    """Whether ``event`` is a function-URL request (payload 2.0: ``version``,
    ``requestContext.http``, ``rawPath``), not an S3, SQS, EventBridge or Batch event."""
    if not isinstance(event, dict) or event.get("version") != "2.0":
        return False
    context = event.get("requestContext")
    return (
        isinstance(context, dict)
        and isinstance(context.get("http"), dict)
        and isinstance(event.get("rawPath"), str)
    )


def error(status: int, reason: str) -> dict[str, Any]:
    """An answer made without the app (it could not be built), never cached."""
    return {
        "statusCode": status,
        "headers": {"content-type": "text/plain; charset=utf-8", "cache-control": "no-store"},
        "body": reason + "\n",
        "isBase64Encoded": False,
    }


def metrics_of(answered: Answered) -> list[tuple[str, MetricUnit, float]]:
    """The metrics one answered request adds: its cache outcome (hits, misses, waits),
    the bytes it answered, and the render it did, if any."""
    out: list[tuple[str, MetricUnit, float]] = [
        ("OriginRequests", MetricUnit.Count, 1),
        ("OriginBytesOut", MetricUnit.Bytes, answered.bytes),
    ]
    names = {"HIT": "OriginHits", "MISS": "OriginMisses", "WAIT": "OriginWaits"}
    if answered.cache in names:
        out.append((names[answered.cache], MetricUnit.Count, 1))
    if answered.render_ms > 0:
        out.append(("OriginRenders", MetricUnit.Count, 1))
        out.append(("OriginRenderTime", MetricUnit.Milliseconds, answered.render_ms))
    if answered.status >= 500:
        out.append(("OriginServerErrors", MetricUnit.Count, 1))
    return out


def _decoded_path(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with ``requestContext.http.path`` percent-decoded from ``rawPath``.

    A function URL passes the path on as the client sent it, percent-encoded; Mangum
    makes it ASGI's ``path``, which is decoded by definition (as uvicorn decodes it), so
    ``images/red%20flower.jpg`` would otherwise be looked up as a key with ``%20`` in it.
    """
    context = event["requestContext"]
    http = {**context["http"], "path": unquote(event["rawPath"] or "/")}
    return {**event, "requestContext": {**context, "http": http}}


class FunctionUrlOrigin:
    """The origin app for function-URL events: build once, call once per request."""

    def __init__(self, settings: Settings, report: Report | None = None) -> None:
        bucket = settings.origin_bucket
        if not bucket:
            name = "origin_bucket"
            raise ConfigError(
                f"setting {name!r} ({env_name(name)}) is not set: the on-demand origin on "
                "Lambda reads its sources from that bucket (the template sets it)"
            )
        target = Target("s3", "", bucket, None)
        target.check(settings)
        built = build(
            target, settings, inline=True, max_response_bytes=MAX_RESPONSE_BYTES, report=report
        )
        self.adapter = Mangum(built.app, lifespan="off")

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self.adapter(_decoded_path(event), context)
