"""serve's routes through Starlette's TestClient: listing, upload limits, traversal refused,
removal through the watch, and the manifest read when there is one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from support.helpers import jpeg, size_of, wait_for
from thumbsmith import settings as S
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.http.serve.activity import Activity
from thumbsmith.http.serve.app import Site, make_app, upload_key
from thumbsmith.http.server import is_loopback
from thumbsmith.runners.bootstrap import process_config, processor
from thumbsmith.runners.serve import build, no_auth_warning
from thumbsmith.runners.target import parse_target
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.outcome import EventResult, Failure

CHANGE = {"X-Thumbsmith": "1"}
HOSTS = ("testserver",)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "photos" / "images").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("not for the page")
    return tmp_path


def make_client(root: Path, max_bytes: int = 50_000_000) -> tuple[TestClient, Activity]:
    settings = S.load(env={})
    store = LocalStore(root)
    site = Site(store, "photos", process_config(settings).keys, max_bytes)
    activity = Activity("photos")
    return TestClient(make_app(site, activity, allowed_hosts=HOSTS)), activity


def rendered(root: Path, key: str, data: bytes) -> None:
    """A source and its renditions, made by process() as the watch would, as before
    manifests existed (once process() writes one, it is removed here)."""
    store = LocalStore(root)
    store.put("photos", key, data, content_type="image/jpeg")
    processor(store, S.load(env={})).process(ObjectEvent("photos", key, EventKind.CREATED))
    (root / "photos-output" / "manifest" / f"{key}.json").unlink(missing_ok=True)


def test_listing_shows_each_source_with_its_renditions_as_the_files_are(root: Path) -> None:
    rendered(root, "images/a.jpg", jpeg(1600, 1200))
    rendered(root, "images/b.jpg", jpeg(300, 500))
    (root / "photos" / "images" / "broken.jpg").write_bytes(b"not an image at all")
    (root / "photos" / "elsewhere.jpg").write_bytes(jpeg(100, 100))  # outside the prefix
    client, activity = make_client(root)
    activity.record(EventResult("s3://photos/images/broken.jpg", Failure.PERMANENT, "the reason"))

    body = client.get("/api/sources").json()
    assert (body["bucket"], body["output_bucket"], body["prefix"]) == (
        "photos",
        "photos-output",
        "images/",
    )
    views = {v["key"]: v for v in body["sources"]}
    assert list(views) == ["images/a.jpg", "images/b.jpg", "images/broken.jpg"]
    a = views["images/a.jpg"]
    assert a["status"] == "done" and a["manifest"] is None
    assert (a["source"]["format"], a["source"]["width"], a["source"]["height"]) == (
        "jpeg",
        1600,
        1200,
    )
    assert a["placeholder"]["color"].startswith("#")
    assert [(r["name"], r["format"]) for r in a["renditions"]] == [
        ("large", "jpeg"),
        ("medium", "jpeg"),
        ("thumb", "jpeg"),
    ]
    for r in a["renditions"]:
        data = client.get(r["url"]).content
        assert (r["width"], r["height"]) == size_of(data)
        assert r["bytes"] == len(data) == (root / "photos-output" / r["key"]).stat().st_size
    assert views["images/broken.jpg"]["error"] == "error: the reason"
    assert views["images/broken.jpg"]["renditions"] == []


def test_the_manifest_is_used_when_there_is_one(root: Path) -> None:
    rendered(root, "images/a.jpg", jpeg(800, 600))
    manifest = {
        "version": 1,
        "source": {"format": "jpeg", "width": 800, "height": 600},
        "renditions": [
            {
                "name": "thumb",
                "format": "jpeg",
                "key": "thumb/images/a.jpg.jpg",
                "width": 160,
                "height": 120,
                "bytes": 1234,
            }
        ],
        "placeholder": {"color": "#123456", "data_uri": "data:image/webp;base64,AAAA"},
    }
    path = root / "photos-output" / "manifest" / "images" / "a.jpg.json"
    path.parent.mkdir(parents=True, exist_ok=True)  # process() wrote the real one
    path.write_text(json.dumps(manifest))
    client, _ = make_client(root)

    view = client.get("/api/sources").json()["sources"][0]
    assert view["placeholder"] == manifest["placeholder"]
    assert [(r["key"], r["bytes"]) for r in view["renditions"]] == [
        ("thumb/images/a.jpg.jpg", 1234)
    ]
    assert view["manifest"] == "/files/output/manifest/images/a.jpg.json"
    detail = client.get("/api/source", params={"key": "images/a.jpg"}).json()
    assert detail["manifest_json"] == manifest
    assert client.get(view["manifest"]).json() == manifest


def test_upload_lands_in_the_bucket_under_the_prefix(root: Path) -> None:
    client, _ = make_client(root)
    data = jpeg(200, 100)
    res = client.put("/api/upload", params={"name": "cat.jpg"}, content=data, headers=CHANGE)
    assert res.status_code == 201 and res.json() == {"key": "images/cat.jpg", "status": "pending"}
    assert (root / "photos" / "images" / "cat.jpg").read_bytes() == data
    assert client.get("/api/sources").json()["sources"][0]["status"] == "pending"


def test_uploads_over_max_bytes_are_refused_with_413_and_write_nothing(root: Path) -> None:
    client, _ = make_client(root, max_bytes=1000)
    ok = client.put("/api/upload", params={"name": "a.jpg"}, content=b"x" * 1000, headers=CHANGE)
    assert ok.status_code == 201
    big = client.put("/api/upload", params={"name": "b.jpg"}, content=b"x" * 1001, headers=CHANGE)
    assert big.status_code == 413
    assert big.json()["detail"] == (  # a local object by its path, as the CLI names it
        f"{root.resolve() / 'photos/images/b.jpg'}: 1001 bytes is over the limit of 1000 "
        "(THUMBSMITH_MAX_BYTES)"
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(5):
            yield b"y" * 400

    chunked = client.put("/api/upload", params={"name": "c.jpg"}, content=chunks(), headers=CHANGE)
    assert chunked.status_code == 413
    assert sorted(p.name for p in (root / "photos" / "images").iterdir()) == ["a.jpg"]


@pytest.mark.parametrize(
    "path",
    [
        "/files/source/images/../../secret.txt",
        "/files/source/images/%2e%2e/%2e%2e/secret.txt",
        "/files/source/images/..%2f..%2fsecret.txt",
        "/files/output/../secret.txt",
        "/files/output/%2e%2e/secret.txt",
        "/files/source//etc/passwd",
        "/files/source/elsewhere.jpg",  # in the bucket but outside the prefix
        "/files/source/images/link/secret.txt",  # a symlink out of the bucket
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/app.py",
    ],
)
def test_traversal_is_refused(root: Path, path: str) -> None:
    (root / "photos" / "elsewhere.jpg").write_bytes(jpeg(10, 10))
    (root / "photos" / "images" / "link").symlink_to(root)
    client, _ = make_client(root)
    res = client.get(path)
    assert res.status_code in (400, 404), res.text
    assert b"not for the page" not in res.content and b"root:" not in res.content


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("cat.jpg", "images/cat.jpg"),
        ("../../cat.jpg", "images/cat.jpg"),
        ("/etc/passwd", "images/passwd"),
        ("C:\\Users\\me\\cat.jpg", "images/cat.jpg"),
        ("..", None),
        (".", None),
        ("", None),
        ("dir/", None),
        ("a\x00b.jpg", None),
        ("line\nbreak.jpg", None),
        (".thumbsmith-tmp-x", None),
        ("x" * 256, None),
    ],
)
def test_upload_names_become_keys_by_the_store_rules(
    root: Path, name: str, expect: str | None
) -> None:
    client, _ = make_client(root)
    res = client.put("/api/upload", params={"name": name}, content=b"data", headers=CHANGE)
    if expect is None:
        assert res.status_code == 400, res.text
        assert list((root / "photos" / "images").iterdir()) == []
    else:
        assert res.status_code == 201 and res.json()["key"] == expect == upload_key("images/", name)
        assert (root / "photos" / expect).read_bytes() == b"data"
    store_meta = {".thumbsmith-meta"} if expect else set()
    assert {p.name for p in root.iterdir()} == {"photos", "secret.txt"} | store_meta


def test_changes_need_the_header_and_a_loopback_host(root: Path) -> None:
    rendered(root, "images/a.jpg", jpeg(100, 100))
    client, _ = make_client(root)
    assert client.put("/api/upload", params={"name": "x.jpg"}, content=b"1").status_code == 403
    assert client.delete("/api/source", params={"key": "images/a.jpg"}).status_code == 403
    assert (root / "photos" / "images" / "a.jpg").exists()
    assert not (root / "photos" / "images" / "x.jpg").exists()
    site = Site(LocalStore(root), "photos", process_config(S.load(env={})).keys, 100)
    rebinding = TestClient(make_app(site, Activity("photos")), base_url="http://evil.example")
    assert rebinding.get("/api/sources").status_code == 400
    for base in ("http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"):
        local = TestClient(make_app(site, Activity("photos")), base_url=base)
        assert local.get("/api/sources").status_code == 200, base
    page = local.get("/")
    assert page.text.startswith("<!doctype html>")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_non_loopback_hosts_get_the_warning() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.10", "::", "example.com"))
    assert "no authentication" in no_auth_warning("0.0.0.0")


def test_upload_then_delete_through_the_watch(root: Path) -> None:
    """The real app: the watch renders the upload, and the delete takes the renditions."""
    results: list[EventResult] = []
    app = build(
        parse_target(str(root / "photos")),
        S.load(env={}),
        workers=1,
        on_result=results.append,
        allowed_hosts=HOSTS,
    )
    thumb = root / "photos-output" / "thumb" / "images" / "cat.jpg.jpg"
    with TestClient(app) as client:
        res = client.put(
            "/api/upload", params={"name": "cat.jpg"}, content=jpeg(1200, 800), headers=CHANGE
        )
        assert res.status_code == 201

        def done() -> bool:
            view = client.get("/api/sources").json()["sources"]
            return bool(view) and view[0]["status"] == "done"

        assert wait_for(done), results
        assert size_of(thumb.read_bytes()) == (160, 107)
        detail = client.get("/api/source", params={"key": "images/cat.jpg"}).json()
        assert detail["render_ms"] > 0
        if detail["manifest_json"] is not None:  # once process() writes manifests
            assert detail["manifest_json"]["source"]["key"] == "images/cat.jpg"
        times = root / ".thumbsmith-serve" / "photos.json"
        assert json.loads(times.read_text()) == {"images/cat.jpg": detail["render_ms"]}

        res = client.delete("/api/source", params={"key": "images/cat.jpg"}, headers=CHANGE)
        assert res.status_code == 202
        assert client.get("/api/sources").json()["sources"] == []
        # One removal deletes the renditions one by one: wait for the last, not the first.
        assert wait_for(lambda: not list((root / "photos-output").rglob("*.jpg"))), results
        assert wait_for(lambda: json.loads(times.read_text()) == {})
        missing = client.delete("/api/source", params={"key": "images/cat.jpg"}, headers=CHANGE)
        assert missing.status_code == 404
    # A busy machine may report the upload twice (created, then closed after a pause);
    # the second is an idempotent skip, never a second write.
    statuses = [r.status for r in results]
    assert statuses[0] == "written" and statuses[-1] == "deleted", statuses
    assert set(statuses[1:-1]) <= {"skipped"}, statuses


def test_a_busy_port_is_one_line_naming_it(root: Path) -> None:
    import socket

    from thumbsmith.errors import ConfigError
    from thumbsmith.runners.serve import serve

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"--port {port}: cannot listen"):
            serve(parse_target(str(root / "photos")), S.load(env={}), port=port)
