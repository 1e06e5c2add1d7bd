"""The on-demand origin as Lambda runs it: ``thumbsmith.aws_lambda.handler`` invoked with
function-URL events (payload 2.0, tests/events/function-url-get.json) against S3 on the
moto server, configured from the environment as deploy/template.yaml's OriginFunction is.
Each answer is what the function URL would send: its status, headers and body (base64
for images), decoded here and checked as an image."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote

import numpy as np
import pytest
from PIL import Image

from support.aws import LogCollector, load_event
from support.faultproxy import FaultPlan, FaultProxy
from support.helpers import jpeg
from support.moto_server import make_buckets
from support.origin import CHROMIUM, CURL, SAFARI
from thumbsmith import aws_lambda
from thumbsmith.runners.function_url import MAX_RESPONSE_BYTES
from thumbsmith.service.ondemand.origin import META_ONDEMAND
from thumbsmith.service.ondemand.params import EDGE_HEADER, edge_mark
from thumbsmith.service.ondemand.signing import signed_path
from thumbsmith.service.renditions import META_FINGERPRINT, META_SOURCE_ETAG, META_SOURCE_KEY

KEY = "sixteen-chars-key-0001"
PHOTO = "images/red flower.jpg"  # a space: the function URL passes it on as %20
NOISE = "images/noise.png"
NOISE_SIDE = 1500  # 1500x1500 RGB noise: a PNG of ~6.8 MB, over the 4.5 MB answer limit
ENV = {
    "THUMBSMITH_RENDITIONS": "large=640:avif+webp+jpeg,thumb=100x100:cover:webp+jpeg,full=2000:png",
    "THUMBSMITH_PREFIX": "images/",
    "THUMBSMITH_ORIGIN_SIGNING_KEYS": KEY,
    "THUMBSMITH_ORIGIN_WIDTHS": "",
    "THUMBSMITH_RETRY_ATTEMPTS": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "thumbsmith",
}


@pytest.fixture(scope="module")
def noise_png() -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, (NOISE_SIDE, NOISE_SIDE, 3), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "PNG", compress_level=1)
    return buf.getvalue()


@pytest.fixture
def bucket(s3: Any, name: str, monkeypatch: pytest.MonkeyPatch, noise_png: bytes) -> Iterator[str]:
    """A source bucket and its output bucket, and the function's environment for them."""
    make_buckets(s3, name)
    s3.put_object(Bucket=name, Key=PHOTO, Body=jpeg(800, 600))
    s3.put_object(Bucket=name, Key=NOISE, Body=noise_png)
    for key, value in {**ENV, "THUMBSMITH_ORIGIN_BUCKET": name}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("THUMBSMITH_OUTPUT_BUCKET", f"{name}-output")
    aws_lambda.use(None)  # a fresh container: settings and the app come from the env
    yield name
    aws_lambda.use(None)


def request(
    path: str, query: str = "", headers: dict[str, str] | None = None, method: str = "GET"
) -> dict[str, Any]:
    """A function-URL event for ``path`` (unencoded; sent percent-encoded, as a client
    or CloudFront sends it) in AWS's shape, from the fixture."""
    event = load_event("function-url-get.json")
    raw = quote(path)
    event["rawPath"] = raw
    event["requestContext"]["http"].update(path=raw, method=method)
    event["rawQueryString"] = query
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query))
    else:
        event.pop("queryStringParameters", None)  # a function URL leaves it out
    kept = {k: v for k, v in event["headers"].items() if k != "accept"}
    event["headers"] = {**kept, **{k.lower(): v for k, v in (headers or {}).items()}}
    return event


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = aws_lambda.handler(event, None)
    assert set(answer) >= {"statusCode", "headers", "body", "isBase64Encoded"}, answer
    json.dumps(answer)  # what Lambda serialises: JSON only
    return answer


def body(answer: dict[str, Any]) -> bytes:
    text = answer["body"]
    return base64.b64decode(text) if answer["isBase64Encoded"] else text.encode()


def image(answer: dict[str, Any]) -> tuple[str, int, int]:
    with Image.open(io.BytesIO(body(answer))) as img:
        return (img.format or "").lower(), img.width, img.height


def header(answer: dict[str, Any], name: str) -> str | None:
    headers: dict[str, str] = {k.lower(): v for k, v in answer["headers"].items()}
    return headers.get(name.lower())


def emf(out: str) -> dict[str, float]:
    """Sum of each metric in the EMF blobs printed on stdout."""
    totals: dict[str, float] = {}
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = blob[metric["Name"]]
            totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(
                value if isinstance(value, list) else [value]
            )
    return totals


def test_miss_then_hit_writes_the_object_with_its_metadata(
    s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    miss = invoke(request(f"/img/{PHOTO}", "p=large", {"Accept": CHROMIUM}))
    assert miss["statusCode"] == 200, body(miss)
    assert miss["isBase64Encoded"] is True
    assert image(miss) == ("avif", 640, 480)
    assert header(miss, "Content-Type") == "image/avif" and header(miss, "Vary") == "Accept"
    assert header(miss, "X-Thumbsmith-Cache") == "MISS"
    assert header(miss, "Cache-Control") == "public, max-age=31536000, immutable"
    assert header(miss, "Content-Length") == str(len(body(miss)))
    key = f"large/{PHOTO}.avif"
    head = s3.head_object(Bucket=f"{bucket}-output", Key=key)
    assert head["ContentType"] == "image/avif"
    assert head["Metadata"][META_SOURCE_KEY] == PHOTO
    assert head["Metadata"][META_SOURCE_ETAG] and head["Metadata"][META_FINGERPRINT]
    stored = s3.get_object(Bucket=f"{bucket}-output", Key=key)["Body"].read()
    assert stored == body(miss)
    first = emf(capsys.readouterr().out)
    assert first["OriginMisses"] == 1 and first["OriginRenders"] == 1
    assert first["OriginRenderTime"] > 0 and first["OriginBytesOut"] == len(stored)

    # The CDN's fallback asks by output key; named renditions need no mark.
    hit = invoke(request(f"/{key}"))
    assert hit["statusCode"] == 200 and header(hit, "X-Thumbsmith-Cache") == "HIT"
    assert body(hit) == stored and header(hit, "ETag") == header(miss, "ETag")
    assert header(hit, "Vary") is None  # by output key: one format, nothing negotiated
    second = emf(capsys.readouterr().out)
    assert second["OriginHits"] == 1 and "OriginRenders" not in second


@pytest.mark.parametrize(
    ("accept", "fmt"), [(CHROMIUM, "avif"), (SAFARI, "avif"), (CURL, "jpeg"), (None, "jpeg")]
)
def test_auto_follows_the_accept_of_chromium_safari_and_curl(
    bucket: str, accept: str | None, fmt: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    answer = invoke(request(f"/img/{PHOTO}", "p=large&f=auto", headers))
    assert answer["statusCode"] == 200, body(answer)
    assert image(answer) == (fmt, 640, 480)
    assert header(answer, "Vary") == "Accept"


def test_if_none_match_is_304_without_a_body(bucket: str) -> None:
    first = invoke(request(f"/img/{PHOTO}", "p=thumb&f=webp"))
    assert image(first) == ("webp", 100, 100) and header(first, "Vary") is None
    etag = header(first, "ETag")
    assert etag and etag.startswith('"')
    again = invoke(request(f"/img/{PHOTO}", "p=thumb&f=webp", {"If-None-Match": etag}))
    assert again["statusCode"] == 304 and body(again) == b""
    assert header(again, "ETag") == etag
    assert header(again, "Cache-Control") == "public, max-age=31536000, immutable"
    # HEAD answers the headers of the GET, no body.
    head = invoke(request(f"/thumb/{PHOTO}.webp", method="HEAD"))
    assert head["statusCode"] == 200 and body(head) == b""
    assert header(head, "Content-Length") == str(len(body(first)))


def test_signed_ad_hoc_renditions_good_and_bad_signatures(s3: Any, bucket: str) -> None:
    params = {"w": "300", "h": "200", "fit": "cover", "f": "webp"}
    query = signed_path(PHOTO, params, KEY).partition("?")[2]
    good = invoke(request(f"/img/{PHOTO}", query))
    assert good["statusCode"] == 200, body(good)
    assert image(good) == ("webp", 300, 200) and header(good, "X-Thumbsmith-Cache") == "MISS"
    listed = s3.list_objects_v2(Bucket=f"{bucket}-output", Prefix=f"_ondemand/{PHOTO}/")
    [written] = [o["Key"] for o in listed["Contents"]]
    assert written.endswith(".webp")
    meta = s3.head_object(Bucket=f"{bucket}-output", Key=written)["Metadata"]
    assert meta[META_ONDEMAND] and meta[META_SOURCE_KEY] == PHOTO
    tags = s3.get_object_tagging(Bucket=f"{bucket}-output", Key=written)["TagSet"]
    assert tags == [{"Key": "thumbsmith", "Value": "ondemand"}]

    tampered = query.replace("w=300", "w=301")
    bad = invoke(request(f"/img/{PHOTO}", tampered))
    assert bad["statusCode"] == 403 and b"signature" in body(bad)
    assert header(bad, "Cache-Control") == "public, max-age=10"
    wrong = signed_path(PHOTO, params, "another-key-0123456789").partition("?")[2]
    assert invoke(request(f"/img/{PHOTO}", wrong))["statusCode"] == 403
    unsigned = invoke(request(f"/img/{PHOTO}", "w=300&f=webp"))
    assert unsigned["statusCode"] == 403


def test_an_ondemand_key_renders_only_with_the_edge_mark(bucket: str) -> None:
    key = f"_ondemand/{PHOTO}/w200-inside.jpg"
    bare = invoke(request(f"/{key}"))
    assert bare["statusCode"] == 404 and header(bare, "Cache-Control") == "public, max-age=60"
    forged = invoke(request(f"/{key}", headers={EDGE_HEADER: edge_mark(key, "not-the-key-01234")}))
    assert forged["statusCode"] == 404
    marked = invoke(request(f"/{key}", headers={EDGE_HEADER: edge_mark(key, KEY)}))
    assert marked["statusCode"] == 200, body(marked)
    assert image(marked) == ("jpeg", 200, 150)
    assert header(invoke(request(f"/{key}")), "X-Thumbsmith-Cache") == "HIT"


def test_a_rendition_over_the_answer_limit_is_written_then_302(s3: Any, bucket: str) -> None:
    answer = invoke(request(f"/img/{NOISE}", "p=full&f=png"))
    assert answer["statusCode"] == 302, (answer["statusCode"], body(answer)[:200])
    assert header(answer, "Location") == f"/img/{NOISE}?p=full&f=png"
    assert header(answer, "Cache-Control") == "private, no-store"
    assert body(answer) == b""
    stored = s3.get_object(Bucket=f"{bucket}-output", Key=f"full/{NOISE}.png")["Body"].read()
    assert len(stored) > MAX_RESPONSE_BYTES
    with Image.open(io.BytesIO(stored)) as img:
        assert (img.format, img.size) == ("PNG", (NOISE_SIDE, NOISE_SIDE))
    # The retry, at the CDN, is a hit in the bucket. One that reaches the function anyway
    # (it raced the render, on another instance) finds the object too large as well: a
    # 302 again, never an answer over Lambda's limit; a HEAD has no body to send.
    raced = invoke(request(f"/full/{NOISE}.png"))
    assert raced["statusCode"] == 302 and header(raced, "X-Thumbsmith-Cache") == "HIT"
    assert header(raced, "Location") == f"/full/{NOISE}.png"
    head = invoke(request(f"/full/{NOISE}.png", method="HEAD"))
    assert head["statusCode"] == 200 and header(head, "Content-Length") == str(len(stored))


def test_a_missing_source_is_404(bucket: str) -> None:
    answer = invoke(request("/img/images/gone.jpg", "p=large&f=jpeg"))
    assert answer["statusCode"] == 404 and b"images/gone.jpg" in body(answer)
    assert header(answer, "Cache-Control") == "public, max-age=60"
    assert invoke(request("/large/images/gone.jpg.jpg"))["statusCode"] == 404


def test_s3_throttling_is_503_no_store(
    moto_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FaultProxy(moto_url, FaultPlan(slowdown=1.0)) as proxy:
        monkeypatch.setenv("THUMBSMITH_S3_ENDPOINT_URL", proxy.url)
        aws_lambda.use(None)
        answer = invoke(request(f"/img/{PHOTO}", "p=large&f=webp"))
        assert proxy.injected["slowdown"] >= 1
    assert answer["statusCode"] == 503, body(answer)
    assert header(answer, "Cache-Control") == "no-store"
    assert header(answer, "Retry-After")


def test_no_origin_bucket_is_one_config_line_and_a_500(
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    logs: LogCollector,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("THUMBSMITH_ORIGIN_BUCKET")
    aws_lambda.use(None)
    for attempt in (1, 2):
        answer = invoke(request(f"/img/{PHOTO}", "p=large&f=webp"))
        assert answer["statusCode"] == 500
        assert header(answer, "Cache-Control") == "no-store"
        assert b"THUMBSMITH_ORIGIN_BUCKET" not in body(answer)  # the log says, not the viewer
        lines = [r.getMessage() for r in logs.records if "configuration error" in r.getMessage()]
        assert len(lines) == attempt, lines
        assert "origin_bucket" in lines[-1] and "THUMBSMITH_ORIGIN_BUCKET" in lines[-1]
        assert "\n" not in lines[-1]
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err

    # A bad value names the setting the same way.
    monkeypatch.setenv("THUMBSMITH_ORIGIN_BUCKET", "Not_A_Bucket")
    aws_lambda.use(None)
    assert invoke(request(f"/img/{PHOTO}", "p=large&f=webp"))["statusCode"] == 500
    assert "origin_bucket" in logs.records[-1].getMessage()
