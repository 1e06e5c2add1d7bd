"""The receiver's HTTP rules, on the app itself (the end-to-end runs are in
tests/runners/test_receive.py): which verdict gets which status, and the listen address."""

from __future__ import annotations

import asyncio

import pytest
from starlette.testclient import TestClient

from thumbsmith.errors import ConfigError
from thumbsmith.http.receive.app import authorized, make_app
from thumbsmith.http.server import is_loopback
from thumbsmith.runners.receive import parse_listen
from thumbsmith.service.dispatch import MessageSummary, Verdict

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client(
    answer: MessageSummary, delay: float = 0.0, timeout: float = 5.0
) -> tuple[TestClient, list[bytes]]:
    seen: list[bytes] = []

    async def submit(body: bytes) -> MessageSummary:
        seen.append(body)
        await asyncio.sleep(delay)
        return answer

    app = make_app(token=TOKEN, max_bytes=4096, timeout=timeout, submit=submit)
    return TestClient(app), seen


@pytest.mark.parametrize(
    ("answer", "status", "verdict"),
    [
        (MessageSummary(Verdict.DONE, written=3), 200, "done"),
        (
            MessageSummary(Verdict.DONE, permanent=1),
            200,
            "done",
        ),  # a bad image: recorded, not retried
        (
            MessageSummary(Verdict.POISON, "not an S3 event"),
            200,
            "ignored",
        ),  # or MinIO retries forever
        (MessageSummary(Verdict.RETRY, "S3 unreachable"), 503, "retry"),
    ],
)
def test_verdicts_map_to_statuses(answer: MessageSummary, status: int, verdict: str) -> None:
    http, seen = client(answer)
    resp = http.post("/events", content=b'{"Records": []}', headers=AUTH)
    assert (resp.status_code, resp.json()["verdict"]) == (status, verdict)
    assert seen == [b'{"Records": []}']


def test_work_past_the_timeout_is_503_so_the_sender_retries() -> None:
    http, _ = client(MessageSummary(Verdict.DONE), delay=2.0, timeout=1.0)
    resp = http.post("/events", content=b"{}", headers=AUTH)
    assert resp.status_code == 503 and resp.json()["error"] == "timed out"


def test_no_body_is_read_or_submitted_without_the_token() -> None:
    http, seen = client(MessageSummary(Verdict.DONE))
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        resp = http.post("/events", content=b"{}", headers=headers)
        assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
    assert seen == []
    assert http.head("/events").status_code == 401
    assert http.head("/events", headers=AUTH).status_code == 200
    assert http.get("/health").json()["unauthorized"] == 4


def test_body_over_the_limit_is_413() -> None:
    http, seen = client(MessageSummary(Verdict.DONE))
    assert http.post("/events", content=b"x" * 5000, headers=AUTH).status_code == 413
    assert seen == []


def test_authorized_is_exact() -> None:
    assert authorized(f"Bearer {TOKEN}", TOKEN)
    assert not authorized(f"bearer {TOKEN}x", TOKEN)
    assert not authorized(None, TOKEN)
    assert not authorized("Bearer ü", TOKEN)


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:8780") == ("127.0.0.1", 8780)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen("0.0.0.0:80") == ("0.0.0.0", 80)
    for bad in ("8780", "127.0.0.1", "host:port", ":80", "h:70000"):
        with pytest.raises(ConfigError, match="HOST:PORT"):
            parse_listen(bad)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
