"""Webhook bodies from self-hosted stores -> ObjectEvents.

The SeaweedFS bodies were captured from a real SeaweedFS 4.48 filer webhook; the MinIO
ones follow MinIO's webhook target (``EventName``/``Key``/``Records``, key query-escaped).
"""

from __future__ import annotations

import pytest

from support.aws import load_event
from thumbsmith.errors import BadEvent
from thumbsmith.service.events import EventKind, ObjectEvent, parse


def brief(events: list[ObjectEvent]) -> list[tuple[str, str, EventKind]]:
    return [(e.bucket, e.key, e.kind) for e in events]


def test_seaweed_create_and_update_are_creations_with_the_s3_etag() -> None:
    (created,) = parse(load_event("seaweed-create.json"))
    assert brief([created]) == [("photos", "images/cat.jpg", EventKind.CREATED)]
    assert created.etag == "d69e616dea0dc4fbb939ba4a3b83e0ea" and created.size == 4
    assert created.source == "seaweedfs"
    (updated,) = parse(load_event("seaweed-update.json"))
    assert brief([updated]) == [("photos", "images/cat.jpg", EventKind.CREATED)]
    assert updated.etag == "6b5604b5d61690b02c438c3819599c25" and updated.size == 11


def test_seaweed_delete_and_rename() -> None:
    assert brief(parse(load_event("seaweed-delete.json"))) == [
        ("photos", "images/cat.jpg", EventKind.REMOVED)
    ]
    assert brief(parse(load_event("seaweed-rename.json"))) == [
        ("photos", "images/copy.jpg", EventKind.REMOVED),
        ("photos", "images/renamed.jpg", EventKind.CREATED),
    ]


def test_seaweed_completed_multipart_upload_is_one_creation() -> None:
    assert brief(parse(load_event("seaweed-multipart-complete.json"))) == [
        ("photos", "images/big.png", EventKind.CREATED)
    ]


@pytest.mark.parametrize(
    "name",
    ["seaweed-create-directory.json", "seaweed-multipart-part.json", "seaweed-system-update.json"],
)
def test_seaweed_directories_staging_and_system_entries_are_no_objects(name: str) -> None:
    assert parse(load_event(name)) == []


def test_seaweed_paths_outside_buckets_and_odd_keys() -> None:
    body = load_event("seaweed-create.json")
    body["key"] = "/some/other/tree/x.jpg"
    assert parse(body) == []
    body["key"] = "/buckets/photos/images/üñî c++ 100%.jpg"  # filer paths are not encoded
    assert [e.key for e in parse(body)] == ["images/üñî c++ 100%.jpg"]
    body["event_type"] = "chmod"
    with pytest.raises(BadEvent, match="unknown type 'chmod'"):
        parse(body)


def test_minio_webhook_put_delete_and_ignored_get() -> None:
    (put,) = parse(load_event("minio-put.json"))
    assert put.source == "minio" and put.kind is EventKind.CREATED
    (removed,) = parse(load_event("minio-webhook-delete.json"))
    # Records[0].s3.object.key is query-escaped: '+' is a space, '%2B' a plus.
    assert brief([removed]) == [("photos", "images/summer holiday+1.jpg", EventKind.REMOVED)]
    assert parse(load_event("minio-webhook-get.json")) == []
