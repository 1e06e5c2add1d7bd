"""The origin over S3, through real HTTP: moto behind the fault proxy (which counts every
PUT that reaches the store, and fails requests on demand) and a real SeaweedFS. Renders
run in the render pool (one child), as ``thumbsmith origin`` runs them."""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from support.aws import make_buckets
from support.faultproxy import FaultPlan, FaultProxy, _error
from support.helpers import jpeg
from support.origin import CHROMIUM, fetch, running
from support.seaweed_server import SeaweedServer
from thumbsmith.runners.origin import build
from thumbsmith.runners.target import parse_target
from thumbsmith.service.renditions import META_FINGERPRINT, META_SOURCE_ETAG, META_SOURCE_KEY
from thumbsmith.settings import Settings, load

KEY = "sixteen-chars-key-0001"


class FailingPuts(FaultProxy):
    """Forwards everything but PUTs while ``fail_puts`` is set (a store failing mid-request:
    the source was read, the write is refused)."""

    fail_puts = False

    def before(self, handler: BaseHTTPRequestHandler) -> bool:
        if self.fail_puts and handler.command == "PUT":
            _error(handler, 500, "InternalError", "We encountered an internal error.", 0)
            return True
        return super().before(handler)


@dataclass
class S3Origin:
    url: str
    s3: Any  # boto3 client straight to the store
    bucket: str
    proxy: FailingPuts | None

    def puts(self, key: str) -> int:
        assert self.proxy is not None
        return self.proxy.requests[("PUT", f"/{self.bucket}-output/{key}")]


def origin_settings(endpoint: str) -> Settings:
    return load(
        env={
            "THUMBSMITH_S3_ENDPOINT_URL": endpoint,
            "THUMBSMITH_RETRY_ATTEMPTS": "1",
            "THUMBSMITH_RENDITIONS": "large=640:avif+webp+jpeg,thumb=100x100:cover:webp+jpeg",
            "THUMBSMITH_ORIGIN_SIGNING_KEYS": KEY,
        }
    )


@pytest.fixture(params=["moto", "seaweedfs"])
def origin(
    request: pytest.FixtureRequest, moto_url: str, s3: Any, name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[S3Origin]:  # fmt: skip
    if request.param == "moto":
        client, upstream = s3, moto_url
    else:
        server: SeaweedServer = request.getfixturevalue("seaweed")
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        for k, v in server.env.items():
            monkeypatch.setenv(k, v)
        client, upstream = server.client(), server.s3_endpoint
    make_buckets(client, name)
    client.put_object(Bucket=name, Key="images/cat.jpg", Body=jpeg(800, 600))
    client.put_object(Bucket=name, Key="images/bad.jpg", Body=b"\xff\xd8\xff" + b"x" * 100)
    # Signatures cover the Host, which the proxy rewrites: SeaweedFS is reached directly.
    proxy = FailingPuts(upstream, FaultPlan()) if request.param == "moto" else None
    with proxy or _nothing():
        endpoint = proxy.url if proxy else upstream
        built = build(parse_target(f"s3://{name}/"), origin_settings(endpoint), workers=1)
        try:
            with running(built.app) as url:
                yield S3Origin(url, client, name, proxy)
        finally:
            built.close()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_miss_then_hit_writes_the_object_with_its_metadata(origin: S3Origin) -> None:
    miss = fetch(origin.url, "/img/images/cat.jpg?p=large", headers={"Accept": CHROMIUM})
    assert miss.status == 200 and miss["X-Thumbsmith-Cache"] == "MISS", miss.body
    assert miss["Content-Type"] == "image/avif" and miss["Vary"] == "Accept"
    head = origin.s3.head_object(Bucket=f"{origin.bucket}-output", Key="large/images/cat.jpg.avif")
    assert head["ContentType"] == "image/avif"
    meta = head["Metadata"]
    assert meta[META_SOURCE_KEY] == "images/cat.jpg"
    assert meta[META_SOURCE_ETAG] and meta[META_FINGERPRINT]
    hit = fetch(origin.url, "/large/images/cat.jpg.avif")
    assert hit["X-Thumbsmith-Cache"] == "HIT" and hit.body == miss.body
    assert hit["ETag"] == miss["ETag"]
    # An ad-hoc result is tagged (a lifecycle rule may select it); a named one is not.
    adhoc = fetch(origin.url, "/img/images/cat.jpg?w=640&f=webp")
    assert adhoc.status == 200, adhoc.body
    out = f"{origin.bucket}-output"
    tagged = origin.s3.get_object_tagging(
        Bucket=out, Key="_ondemand/images/cat.jpg/w640-inside.webp"
    )
    assert tagged["TagSet"] == [{"Key": "thumbsmith", "Value": "ondemand"}]
    named = origin.s3.get_object_tagging(Bucket=out, Key="large/images/cat.jpg.avif")
    assert named["TagSet"] == []
    assert fetch(origin.url, "/img/images/bad.jpg?p=thumb&f=jpeg").status == 422
    assert fetch(origin.url, "/img/images/gone.jpg?p=thumb&f=jpeg").status == 404


def test_fifty_requests_for_one_missing_rendition_render_and_write_once(
    origin: S3Origin,
) -> None:
    path = "/thumb/images/cat.jpg.webp"
    with cf.ThreadPoolExecutor(50) as threads:
        replies = list(threads.map(lambda _: fetch(origin.url, path), range(50)))
    assert {r.status for r in replies} == {200}
    caches = [r["X-Thumbsmith-Cache"] for r in replies]
    assert caches.count("MISS") == 1, caches
    assert set(caches) <= {"MISS", "WAIT", "HIT"}
    assert len({r.body for r in replies}) == 1 and len({r["ETag"] for r in replies}) == 1
    if origin.proxy is not None:
        assert origin.puts("thumb/images/cat.jpg.webp") == 1


def test_a_store_that_fails_is_503_no_store_and_nothing_cached(origin: S3Origin) -> None:
    if origin.proxy is None:
        pytest.skip("the fault proxy sits in front of moto only")
    origin.proxy.fail_puts = True
    failed = fetch(origin.url, "/thumb/images/cat.jpg.jpg")
    assert failed.status == 503 and failed["Cache-Control"] == "no-store"
    assert failed.get("Retry-After")
    origin.proxy.fail_puts = False
    assert fetch(origin.url, "/thumb/images/cat.jpg.jpg")["X-Thumbsmith-Cache"] == "MISS"
    origin.proxy.plan = FaultPlan(internal=1.0)  # every request now
    down = fetch(origin.url, "/thumb/images/cat.jpg.jpg")
    assert down.status == 503 and down["Cache-Control"] == "no-store", down.body
    assert b"store is unavailable" in down.body


def test_env_is_not_left_behind() -> None:
    assert "THUMBSMITH_S3_ENDPOINT_URL" not in os.environ
