"""Hostile keys never escape the local store root and never collide; S3 keys round-trip.

Adds to tests/test_local_store.py: a property test over arbitrary keys, unicode
normalisation variants, and the same tricky keys through moto, S3 notifications included.
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.adapters.storage.s3 import S3Store
from thumbsmith.errors import StorageError, ThumbsmithError
from thumbsmith.service.events import parse

CAFE_NFC = unicodedata.normalize("NFC", "café.jpg")
CAFE_NFD = unicodedata.normalize("NFD", "café.jpg")
TRICKY = [
    "../escape.jpg",
    "images/../../escape.jpg",
    "/etc/passwd",
    "//double/slash.jpg",
    "images/./dot.jpg",
    "images/nul\0byte.jpg",
    "images/" + "x" * 300 + ".jpg",
    "images/" + "/".join(["deep"] * 100) + "/a.jpg",
    f"images/{CAFE_NFC}",
    f"images/{CAFE_NFD}",
    "images/Ω vs Ω.jpg",  # U+2126 OHM and U+03A9 OMEGA: NFC folds one into the other
    "images/ﬁle.jpg",  # the fi ligature; NFKC would make it "file.jpg"
    "images/file.jpg",
    "images/back\\slash.jpg",
    "images/space .jpg",
    "images/tab\tand\nnewline.jpg",
    "images/%2e%2e%2fencoded.jpg",
    "images/+plus+ & ?query=1#frag.jpg",
    "images/emoji 🐈‍⬛.jpg",
    "images/..dots..jpg",
]


def stored_paths(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def assert_inside(root: Path, store: LocalStore, bucket: str, key: str) -> Path:
    path = store.path(bucket, key)
    assert path.resolve().is_relative_to((root / bucket).resolve()), key
    return path


@pytest.mark.parametrize("key", TRICKY, ids=range(len(TRICKY)))
def test_tricky_key_is_refused_or_stays_inside(tmp_path: Path, key: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = {p for p in tmp_path.rglob("*")}
    store = LocalStore(root)
    try:
        store.put("b", key, b"data", content_type="image/jpeg")
    except ThumbsmithError:
        pass  # refused (UnsafeKey, or an OS limit mapped to StorageError)
    else:
        assert_inside(root, store, "b", key)
        assert store.get("b", key)[0] == b"data"
        assert [i.key for i in store.list("b")] == [key]
    new = {p for p in tmp_path.rglob("*")} - outside
    assert all(p.resolve().is_relative_to(root.resolve()) for p in new), new


def test_unicode_variants_and_lookalikes_never_collide(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    accepted = {}
    for n, key in enumerate(TRICKY):
        try:
            store.put("b", key, f"{n}".encode(), content_type="image/jpeg")
        except ThumbsmithError:
            continue
        accepted[key] = f"{n}".encode()
    assert f"images/{CAFE_NFC}" in accepted and f"images/{CAFE_NFD}" in accepted
    for key, data in accepted.items():
        assert store.get("b", key)[0] == data, f"{key!r} was overwritten by another key"
    assert {i.key for i in store.list("b")} == set(accepted)


KEY_CHARS = st.sampled_from([*"ab/.\\\0 é\u0301Ω\u2126%+~-_", "..", "/..", "../"])
KEYS = st.one_of(
    st.lists(KEY_CHARS, min_size=1, max_size=30).map("".join),
    st.text(min_size=1, max_size=80),
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(a=KEYS, b=KEYS)
def test_any_two_keys_stay_inside_and_apart(tmp_path_factory: Any, a: str, b: str) -> None:
    root = tmp_path_factory.mktemp("store")
    store = LocalStore(root)
    ok: dict[str, bytes] = {}
    for key, data in ((a, b"A"), (b, b"B")):
        try:
            store.put("bkt", key, data, content_type="image/jpeg")
        except StorageError:
            continue
        assert_inside(root, store, "bkt", key)
        ok[key] = data
    for path in stored_paths(root):
        assert path.resolve().is_relative_to(root.resolve())
    if a != b and a in ok and b in ok:
        assert store.path("bkt", a) != store.path("bkt", b)
        assert store.get("bkt", a)[0] == b"A" and store.get("bkt", b)[0] == b"B"


# --- S3: exact round trip, directly and through real notifications ---------------------
# S3 takes any UTF-8 key up to 1024 bytes; moto's HTTP layer answers 404 to a PUT whose
# key holds a tab or newline (real S3 accepts them), so those stay local-only here.
S3_KEYS = [k for k in TRICKY if k.isprintable() and len(k.encode()) <= 1024]


def test_s3_keys_round_trip_exactly_incl_notifications(aws: str) -> None:
    s3 = boto3.client("s3", endpoint_url=aws)
    sqs = boto3.client("sqs", endpoint_url=aws)
    bucket = "tricky-keys"
    s3.create_bucket(Bucket=bucket)
    url = sqs.create_queue(QueueName=bucket)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"Id": "t", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    store = S3Store(s3)
    for n, key in enumerate(S3_KEYS):
        store.put(
            bucket,
            key,
            str(n).encode(),
            content_type="image/jpeg",
            metadata={"thumbsmith-source-key": key},
        )
    for n, key in enumerate(S3_KEYS):
        data, info = store.get(bucket, key)
        assert data == str(n).encode() and info.key == key
        assert store.head(bucket, key).metadata["thumbsmith-source-key"] == key
    assert sorted(i.key for i in store.list(bucket)) == sorted(S3_KEYS)

    seen: list[str] = []
    for _ in range(20):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            break
        for m in batch:
            seen += [e.key for e in parse(json.loads(m["Body"]))]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(seen) == sorted(S3_KEYS)
    assert os.environ["AWS_ENDPOINT_URL"] == aws
