"""S3Store: the Store contract on two backends (moto and a real SeaweedFS), endpoints
and error mapping."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from support.aws import Backend, free_port_url, make_buckets
from thumbsmith.adapters.aws import map_error, sqs_client
from thumbsmith.adapters.storage.s3 import (
    S3Store,
    decode_metadata,
    encode_metadata,
)
from thumbsmith.errors import (
    AccessDenied,
    BucketNotFound,
    ObjectNotFound,
    StorageError,
    TransientError,
)
from thumbsmith.runners.bootstrap import client_options, s3_store
from thumbsmith.settings import Settings

UNICODE_KEY = "images/üñîcödé c++ 写真.jpg"


def test_put_get_head_delete_round_trip(backend: Backend, name: str, settings: Settings) -> None:
    s3 = backend.s3
    make_buckets(s3, name)
    store = s3_store(settings)  # endpoint from AWS_ENDPOINT_URL alone
    meta = {"thumbsmith-source-etag": "abc", "thumbsmith-source-key": UNICODE_KEY}
    info = store.put(
        name,
        UNICODE_KEY,
        b"jpeg bytes",
        content_type="image/jpeg",
        cache_control="public, max-age=60",
        metadata=meta,
    )
    assert info.etag and '"' not in info.etag

    raw = s3.head_object(Bucket=name, Key=UNICODE_KEY)
    assert raw["ContentType"] == "image/jpeg"
    assert raw["CacheControl"] == "public, max-age=60"
    assert raw["ETag"].strip('"') == info.etag

    head = store.head(name, UNICODE_KEY)
    assert head.etag == info.etag and head.size == 10
    assert dict(head.metadata) == meta  # unicode metadata survives the ASCII headers
    assert head.content_type == "image/jpeg"

    data, got = store.get(name, UNICODE_KEY)
    assert data == b"jpeg bytes" and got.etag == info.etag

    store.delete(name, UNICODE_KEY)
    store.delete(name, UNICODE_KEY)  # twice is fine
    with pytest.raises(ObjectNotFound):
        store.head(name, UNICODE_KEY)


def test_list_paginates(backend: Backend, name: str, settings: Settings) -> None:
    s3 = backend.s3
    make_buckets(s3, name)
    for i in range(5):
        s3.put_object(Bucket=name, Key=f"images/{i}.jpg", Body=b"x" * i)
    s3.put_object(Bucket=name, Key="other/skip.jpg", Body=b"x")
    store = S3Store(s3_store(settings).client, page_size=2)
    listed = list(store.list(name, "images/"))
    assert [i.key for i in listed] == [f"images/{i}.jpg" for i in range(5)]
    assert [i.size for i in listed] == list(range(5))
    assert all(i.etag and '"' not in i.etag for i in listed)


def test_missing_object_and_missing_bucket_are_distinct(
    backend: Backend, name: str, settings: Settings
) -> None:
    make_buckets(backend.s3, name)
    store = s3_store(settings)
    with pytest.raises(ObjectNotFound, match="no such object"):
        store.head(name, "images/nope.jpg")
    with pytest.raises(ObjectNotFound):
        store.get(name, "images/nope.jpg")
    missing = f"{name}-missing"
    for call in (
        lambda: store.head(missing, "images/a.jpg"),
        lambda: store.get(missing, "images/a.jpg"),
        lambda: store.put(missing, "a.jpg", b"x", content_type="image/jpeg"),
        lambda: list(store.list(missing, "images/")),
    ):
        with pytest.raises(BucketNotFound, match=f"bucket '{missing}' does not exist"):
            call()


def test_settings_endpoint_overrides_environment(settings: Settings) -> None:
    # AWS_ENDPOINT_URL points at moto; the setting wins and points at a closed port.
    store = s3_store(settings.replace(s3_endpoint_url=free_port_url(), retry_attempts=1))
    with pytest.raises(TransientError, match="cannot reach the endpoint"):
        store.head("bucket", "images/a.jpg")


def test_endpoint_from_aws_endpoint_url_s3(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, name: str, settings: Settings
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", backend.env["AWS_ENDPOINT_URL"])
    make_buckets(backend.s3, name)
    store = s3_store(settings)
    store.put(name, "images/a.jpg", b"x", content_type="image/jpeg")
    assert store.head(name, "images/a.jpg").size == 1


# Keys a new user's uploads really have: NFD accents, '+', '%', '#', emoji, double spaces.
ODD_KEYS = [
    "images/cafe\u0301.jpg",
    "images/caf\u00e9.jpg",
    "images/c+d.jpg",
    "images/100%.jpg",
    "images/#1.jpg",
    "images/\U0001f600.jpg",
    "images/two  spaces.jpg",
    "images/a%2Fb.jpg",
    "images/what?.jpg",
]


def test_odd_keys_round_trip_exactly(backend: Backend, name: str, settings: Settings) -> None:
    make_buckets(backend.s3, name)
    store = s3_store(settings)
    for n, key in enumerate(ODD_KEYS):
        store.put(name, key, bytes([n]), content_type="image/jpeg", metadata={"k": key})
    assert sorted(i.key for i in store.list(name, "images/")) == sorted(ODD_KEYS)
    for n, key in enumerate(ODD_KEYS):
        data, info = store.get(name, key)
        assert data == bytes([n]) and info.metadata == {"k": key}


def test_multipart_etag_is_kept_unquoted(backend: Backend, name: str, settings: Settings) -> None:
    s3 = backend.s3
    make_buckets(s3, name)
    upload = s3.create_multipart_upload(Bucket=name, Key="images/big.bin")["UploadId"]
    parts = [
        {
            "PartNumber": i,
            "ETag": s3.upload_part(
                Bucket=name, Key="images/big.bin", UploadId=upload, PartNumber=i, Body=body
            )["ETag"],
        }
        for i, body in ((1, b"a" * 5 * 1024 * 1024), (2, b"b" * 10))
    ]
    s3.complete_multipart_upload(
        Bucket=name, Key="images/big.bin", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    store = s3_store(settings)
    head = store.head(name, "images/big.bin")
    assert head.size == 5 * 1024 * 1024 + 10 and '"' not in head.etag
    (listed,) = store.list(name, "images/")
    assert listed.etag == head.etag == store.get(name, "images/big.bin")[1].etag


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},  # type: ignore[typeddict-item]
        "GetObject",
    )


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("AccessDenied", 403, AccessDenied),
        ("403", 403, AccessDenied),
        ("InvalidAccessKeyId", 403, AccessDenied),
        ("NoSuchKey", 404, ObjectNotFound),
        ("404", 404, ObjectNotFound),
        ("NoSuchBucket", 404, BucketNotFound),
        ("SlowDown", 503, TransientError),
        ("InternalError", 500, TransientError),
        ("InvalidArgument", 400, StorageError),
    ],
)
def test_error_mapping(code: str, status: int, kind: type[Exception]) -> None:
    mapped = map_error(_client_error(code, status), where="s3://b/k", action="GET", bucket="b")
    assert type(mapped) is kind
    assert "s3://b" in str(mapped)
    # Only a bad object is permanent; a missing bucket or permission is fixed by a human,
    # after which the retried event must still be there.
    retryable = kind in (TransientError, AccessDenied, BucketNotFound)
    assert getattr(mapped, "permanent", None) is (not retryable)


def test_access_denied_message_is_actionable() -> None:
    mapped = map_error(_client_error("AccessDenied", 403), where="s3://b/k", action="PUT")
    assert "access denied" in str(mapped) and "policy" in str(mapped)


def test_non_boto_errors_pass_through() -> None:
    exc = ValueError("a bug")
    assert map_error(exc, where="s3://b", action="GET") is exc


def test_metadata_codec() -> None:
    meta = {"a": "plain", "b": "üñî", "c": "tab\there"}
    encoded = encode_metadata(meta)
    assert all(v.isascii() for v in encoded.values())
    assert decode_metadata(encoded) == meta
    assert decode_metadata({"X": "=?UTF-8?B?not base64!?="}) == {"x": "=?UTF-8?B?not base64!?="}


def test_read_timeout_is_a_setting_and_long_polls_get_their_wait_on_top(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from thumbsmith.settings import load

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # a client needs one; no call is made
    settings = load(env={"THUMBSMITH_READ_TIMEOUT": "7", "THUMBSMITH_POLL_WAIT": "20"})
    assert client_options(settings, "s3").config().read_timeout == 7  # type: ignore[attr-defined]
    # A 20 s long poll must not be cut off by a 7 s read timeout and retried forever.
    assert sqs_client(client_options(settings, "sqs")).meta.config.read_timeout == 27  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "key", ["images//a.jpg", "images/./x.jpg", "images/../x.jpg", "images/" + "x" * 256]
)
def test_keys_stores_disagree_on_are_refused_on_every_backend(
    backend: Backend, name: str, settings: Settings, key: str
) -> None:
    """SeaweedFS stores images//a.jpg as images/a.jpg (it would share renditions with that
    source) and refuses the others; moto keeps them all. thumbsmith refuses them on both,
    permanently, before any request, and writes nothing."""
    from thumbsmith.errors import UnsafeKey
    from thumbsmith.runners.bootstrap import processor
    from thumbsmith.service.events import ObjectEvent

    make_buckets(backend.s3, name)
    with pytest.raises(UnsafeKey, match="key") as err:
        processor(s3_store(settings), settings).process(ObjectEvent(name, key))
    assert err.value.permanent and f"s3://{name}/" in str(err.value)
    assert backend.s3.list_objects_v2(Bucket=f"{name}-output")["KeyCount"] == 0
