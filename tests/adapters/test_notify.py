"""The signed "Renditions Ready" webhook, against a real HTTP server on 127.0.0.1.

A receiver that fails never costs renditions: the event fails as transient (counted,
logged with the object's name), and its retry re-sends the notification without
re-rendering anything.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from support.helpers import jpeg
from thumbsmith import settings as S
from thumbsmith.adapters.notify.webhook import SIGNATURE_HEADER, WebhookNotifier, verify
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.errors import ConfigError, NotifyError
from thumbsmith.runners.bootstrap import processor
from thumbsmith.service.dispatch import Verdict, handle

SECRET = "whsec-test-0123456789"
MANIFEST_KEY = "manifest/images/cat.jpg.json"


class Receiver:
    """Answers the scripted statuses in order, then 200; keeps every request."""

    def __init__(self, script: list[int]) -> None:
        self.script = list(script)
        self.seen: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = outer.script.pop(0) if outer.script else 200
                outer.seen.append({"status": status, "body": raw, "headers": dict(self.headers)})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/thumbsmith?token=abc"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def delivered(self) -> list[dict[str, Any]]:
        return [s for s in self.seen if s["status"] == 200]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([])
    yield r
    r.close()


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    (tmp_path / "photos").mkdir()
    s = LocalStore(tmp_path)
    s.put("photos", "images/cat.jpg", jpeg(), content_type="image/jpeg")
    return s


def s3_event(kind: str = "ObjectCreated:Put") -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": kind,
                "s3": {"bucket": {"name": "photos"}, "object": {"key": "images/cat.jpg"}},
            }
        ]
    }


def settings_for(url: str, **extra: str) -> S.Settings:
    env = {
        "THUMBSMITH_NOTIFY_WEBHOOK_URL": url,
        "THUMBSMITH_NOTIFY_WEBHOOK_SECRET": SECRET,
        "THUMBSMITH_NOTIFY_TIMEOUT": "2",
        **{f"THUMBSMITH_{k.upper()}": v for k, v in extra.items()},
    }
    return S.load(env=env)


def test_ready_is_posted_signed_with_the_manifest(store: LocalStore, receiver: Receiver) -> None:
    handled = handle(s3_event(), processor(store, settings_for(receiver.url)))
    assert handled.verdict is Verdict.DONE
    [request] = receiver.seen
    assert verify(SECRET, request["body"], request["headers"][SIGNATURE_HEADER])
    assert not verify("other-secret", request["body"], request["headers"][SIGNATURE_HEADER])
    assert request["headers"]["X-Thumbsmith-Event"] == "Renditions Ready"
    assert request["headers"]["Content-Type"] == "application/json"
    stored = json.loads(store.get("photos-output", MANIFEST_KEY)[0])
    assert json.loads(request["body"]) == stored
    assert "thumbsmith-notified" not in store.head("photos-output", MANIFEST_KEY).metadata
    # Already announced: a redelivered S3 event sends nothing more.
    assert handle(s3_event(), processor(store, settings_for(receiver.url))).ok
    assert len(receiver.seen) == 1


def test_a_500_then_200_is_retried_within_the_event(store: LocalStore) -> None:
    r = Receiver([500])
    try:
        handled = handle(s3_event(), processor(store, settings_for(r.url)))
        assert handled.verdict is Verdict.DONE
        assert [s["status"] for s in r.seen] == [500, 200]
        assert r.seen[0]["body"] == r.seen[1]["body"]
        assert len({s["headers"]["X-Thumbsmith-Delivery"] for s in r.seen}) == 1
    finally:
        r.close()


def test_receiver_down_keeps_renditions_and_the_retry_resends(
    store: LocalStore, caplog: pytest.LogCaptureFixture
) -> None:
    r = Receiver([503, 503])  # down for both attempts of the first try
    metrics: list[tuple[str, float, dict[str, str]]] = []
    try:
        settings = settings_for(r.url, notify_attempts="2")
        with caplog.at_level(logging.INFO, logger="thumbsmith"):
            first = handle(s3_event(), processor(store, settings), record(metrics))
        assert first.verdict is Verdict.RETRY
        assert ("Failures", 1, {"kind": "notify_failed"}) in metrics
        failed = [rec for rec in caplog.records if rec.getMessage() == "notify_failed"]
        assert failed and failed[0].__dict__["object"] == "s3://photos/images/cat.jpg"
        assert SECRET not in caplog.text
        assert "token=abc" not in caplog.text, "the URL's query may hold a token"
        # The renditions and the manifest are there, the manifest marked as not yet sent.
        renditions = {
            k: store.head("photos-output", k).etag
            for k in ("large/images/cat.jpg.jpg", "thumb/images/cat.jpg.jpg")
        }
        assert store.head("photos-output", MANIFEST_KEY).metadata["thumbsmith-notified"]

        second = handle(s3_event(), processor(store, settings), record(metrics))
        assert second.verdict is Verdict.DONE
        assert second.outcomes[0].status == "skipped"  # nothing re-rendered
        assert [s["status"] for s in r.seen] == [503, 503, 200]
        [ok] = r.delivered()
        assert verify(SECRET, ok["body"], ok["headers"][SIGNATURE_HEADER])
        assert json.loads(ok["body"]) == json.loads(store.get("photos-output", MANIFEST_KEY)[0])
        assert {k: store.head("photos-output", k).etag for k in renditions} == renditions
        assert "thumbsmith-notified" not in store.head("photos-output", MANIFEST_KEY).metadata
    finally:
        r.close()


def test_removal_posts_renditions_deleted(store: LocalStore, receiver: Receiver) -> None:
    settings = settings_for(receiver.url)
    handle(s3_event(), processor(store, settings))
    store.delete("photos", "images/cat.jpg")
    assert handle(s3_event("ObjectRemoved:Delete"), processor(store, settings)).ok
    request = receiver.seen[-1]
    assert request["headers"]["X-Thumbsmith-Event"] == "Renditions Deleted"
    assert verify(SECRET, request["body"], request["headers"][SIGNATURE_HEADER])
    body = json.loads(request["body"])
    assert body["source"] == {"bucket": "photos", "key": "images/cat.jpg"}
    assert body["manifest_key"] == MANIFEST_KEY
    assert "large/images/cat.jpg.jpg" in body["keys"]


def test_a_4xx_is_not_retried(receiver: Receiver) -> None:
    receiver.script = [401]
    notifier = WebhookNotifier(receiver.url, SECRET, attempts=3, sleep=lambda s: None)
    with pytest.raises(NotifyError, match="HTTP 401"):
        notifier.send("Renditions Ready", {"version": 1}, subject="s3://b/k")
    assert len(receiver.seen) == 1


def test_nobody_listening_fails_as_transient() -> None:
    from support.moto_server import free_port

    notifier = WebhookNotifier(
        f"http://127.0.0.1:{free_port()}/", SECRET, attempts=2, timeout=1, sleep=lambda s: None
    )
    with pytest.raises(NotifyError, match="2 attempt") as err:
        notifier.send("Renditions Ready", {"version": 1}, subject="s3://b/k")
    assert not err.value.permanent


def test_webhook_needs_a_secret(store: LocalStore) -> None:
    settings = S.load(env={"THUMBSMITH_NOTIFY_WEBHOOK_URL": "https://app.example/hook"})
    with pytest.raises(ConfigError, match="notify_webhook_secret"):
        processor(store, settings)


def record(into: list[tuple[str, float, dict[str, str]]]) -> Any:
    def rec(name: str, value: float, dims: Any) -> None:
        into.append((name, value, dict(dims)))

    return rec
