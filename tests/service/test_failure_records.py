"""Failure records: a source that fails for good is recorded by backfill and sync
(``failed/KEY.json`` in the output bucket) and skipped, without a download, until it or
the settings change; every path (a render, a removal, sync's orphan policy) keeps the
record true. On a real local store and the real core."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.helpers import created, jpeg, photos_store, proc
from thumbsmith import settings as S
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.errors import CorruptImage, ImageTooLarge, ObjectNotFound
from thumbsmith.runners.sync import sync
from thumbsmith.runners.target import parse_target
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.failures import Remember
from thumbsmith.service.outcome import Status
from thumbsmith.service.ports import ObjectInfo
from thumbsmith.service.renditions import META_SOURCE_ETAG, META_SOURCE_KEY

BAD = "images/bad.jpg"
RECORD = "failed/images/bad.jpg.json"
TRUNCATED = jpeg(400, 300)[:600]


class CountingStore(LocalStore):
    """The real local store, counting the downloads (GETs) of each key."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gets: dict[str, int] = {}

    def get(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        self.gets[key] = self.gets.get(key, 0) + 1
        return super().get(bucket, key)


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    photos_store(tmp_path)
    (tmp_path / "photos-output").mkdir()
    made = CountingStore(tmp_path)
    made.put("photos", BAD, TRUNCATED, content_type="image/jpeg")
    return made


def record(store: LocalStore) -> tuple[dict[str, object], ObjectInfo]:
    data, info = store.get("photos-output", RECORD)
    return json.loads(data), info


def test_a_failure_is_recorded_then_skipped_without_a_download(store: CountingStore) -> None:
    with pytest.raises(CorruptImage):
        proc(store).process(created(BAD), Remember.SKIP)
    body, info = record(store)
    assert body["error"]["kind"] == "corrupt"  # type: ignore[index]
    assert body["source"]["key"] == BAD  # type: ignore[index]
    assert info.metadata[META_SOURCE_KEY] == BAD
    assert info.metadata[META_SOURCE_ETAG] == store.head("photos", BAD).etag
    assert info.content_type == "application/json"

    store.gets.clear()
    outcome = proc(store).process(created(BAD), Remember.SKIP)
    assert outcome.status is Status.KNOWN_BAD and "corrupt" in outcome.reason
    assert store.gets.get(BAD, 0) == 0, "a known bad source was downloaded again"
    # Nothing but the record: no rendition, no manifest.
    assert [i.key for i in store.list("photos-output")] == [RECORD]


def test_retry_failed_downloads_it_again_and_keeps_the_record(store: CountingStore) -> None:
    with pytest.raises(CorruptImage):
        proc(store).process(created(BAD), Remember.SKIP)
    store.gets.clear()
    with pytest.raises(CorruptImage):
        proc(store).process(created(BAD), Remember.RETRY)
    assert store.gets[BAD] == 1
    assert record(store)[1].metadata[META_SOURCE_ETAG] == store.head("photos", BAD).etag


def test_live_events_record_nothing_and_skip_nothing(store: CountingStore) -> None:
    with pytest.raises(CorruptImage):
        proc(store).process(created(BAD))  # Lambda, the worker, watch: a bad upload
    assert list(store.list("photos-output")) == []  # writes nothing
    with pytest.raises(CorruptImage):
        proc(store).process(created(BAD), Remember.SKIP)
    with pytest.raises(CorruptImage):
        proc(store).process(created(BAD))  # and a record does not make it skip
    assert store.gets[BAD] == 3


def test_a_changed_source_or_changed_settings_are_tried_again(store: CountingStore) -> None:
    with pytest.raises(CorruptImage):
        proc(store).process(created(BAD), Remember.SKIP)
    store.gets.clear()
    # Other settings: a limit too (a raised max_pixels must retry a source too large).
    with pytest.raises(CorruptImage):
        proc(store, max_pixels="50000000").process(created(BAD), Remember.SKIP)
    with pytest.raises(CorruptImage):
        proc(store, quality="70").process(created(BAD), Remember.SKIP)
    assert store.gets[BAD] == 2
    # Another broken version of it: tried, and recorded as that version.
    store.put("photos", BAD, jpeg(500, 300)[:900], content_type="image/jpeg")
    with pytest.raises(CorruptImage):
        proc(store).process(created(BAD), Remember.SKIP)
    assert store.gets[BAD] == 3
    assert record(store)[1].metadata[META_SOURCE_ETAG] == store.head("photos", BAD).etag


def test_a_fixed_source_renders_and_its_record_goes_whoever_renders_it(
    store: CountingStore,
) -> None:
    with pytest.raises(CorruptImage):
        proc(store).process(created(BAD), Remember.SKIP)
    store.put("photos", BAD, jpeg(400, 300), content_type="image/jpeg")
    outcome = proc(store).process(created(BAD))  # a live upload of the fixed file
    assert outcome.status is Status.WRITTEN
    with pytest.raises(ObjectNotFound):
        store.head("photos-output", RECORD)


def test_a_source_over_the_byte_limit_is_recorded_without_a_download(
    store: CountingStore,
) -> None:
    store.put("photos", "images/big.jpg", jpeg(400, 300), content_type="image/jpeg")
    with pytest.raises(ImageTooLarge):
        proc(store, max_bytes="1000").process(created("images/big.jpg"), Remember.SKIP)
    again = proc(store, max_bytes="1000").process(created("images/big.jpg"), Remember.SKIP)
    assert again.status is Status.KNOWN_BAD
    assert "images/big.jpg" not in store.gets
    # The limit raised: a new verdict, and this time it renders.
    assert proc(store).process(created("images/big.jpg"), Remember.SKIP).status == "written"
    with pytest.raises(ObjectNotFound):
        store.head("photos-output", "failed/images/big.jpg.json")


def test_removing_the_source_removes_its_record(store: CountingStore) -> None:
    with pytest.raises(CorruptImage):
        proc(store).process(created(BAD), Remember.SKIP)
    store.delete("photos", BAD)
    outcome = proc(store).process(ObjectEvent("photos", BAD, EventKind.REMOVED))
    assert outcome.status is Status.DELETED
    assert list(store.list("photos-output")) == []


def test_sync_deletes_the_record_of_a_source_that_is_gone(
    store: CountingStore, tmp_path: Path
) -> None:
    settings = S.load(env={})
    target = parse_target(str(tmp_path / "photos"))
    first = sync(target, settings, workers=1)
    assert first.failed == 1 and [i.key for i in store.list("photos-output")] == [RECORD]
    store.delete("photos", BAD)  # no removal event reaches anyone (no notifications)
    second = sync(target, settings, workers=1)
    assert [Path(d).name for d in second.deleted] == ["bad.jpg.json"]
    assert list(store.list("photos-output")) == []


@pytest.mark.parametrize(
    ("env", "kept"),
    [
        ({}, True),
        ({"key_template": "out/{rendition}/{key}"}, True),
        # No {rendition}: the record would be the manifest; none is kept, nothing breaks.
        ({"key_template": "{key}.{ext}", "renditions": "large=1280:webp+jpeg"}, False),
        # A rendition named "failed" and no {ext}: it would be that rendition's key.
        ({"key_template": "{rendition}/{key}", "renditions": "Failed=640,thumb=160"}, False),
        ({"renditions": "failed=640,thumb=160"}, True),  # .jpg and .json: apart
    ],
)
def test_records_are_kept_only_where_the_key_template_keeps_them_apart(
    store: CountingStore, env: dict[str, str], kept: bool
) -> None:
    settings = S.load(env={f"THUMBSMITH_{k.upper()}": v for k, v in env.items()})
    assert settings.key_mapper.keeps_failure_records is kept
    with pytest.raises(CorruptImage):
        proc(store, **env).process(created(BAD), Remember.SKIP)
    written = [i.key for i in store.list("photos-output")]
    assert len(written) == (1 if kept else 0), written
