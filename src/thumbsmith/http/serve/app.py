"""The routes of ``thumbsmith serve``, on Starlette.

Only two folders are ever read or written: the source bucket (under the prefix) and its
output bucket, each through :class:`LocalStore`'s key rules (no ``..``, no absolute
keys, no symlink out of the bucket). Changes (upload, delete) need the ``X-Thumbsmith``
header, which a cross-site form cannot send without a CORS preflight that this server
never grants, and only loopback ``Host`` names are accepted unless it was bound to
another address (a DNS-rebinding page cannot reach it either).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from thumbsmith.adapters.storage.local import LocalStore, check_key
from thumbsmith.core.decoders.sniff import sniff_format
from thumbsmith.errors import ThumbsmithError, UnsafeKey
from thumbsmith.http.middleware import LOOPBACK_HOSTS, trusted_hosts
from thumbsmith.http.serve import views
from thumbsmith.http.serve.activity import Activity
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ondemand import signing
from thumbsmith.service.process import ProcessConfig

STATIC = Path(str(files("thumbsmith.http.serve") / "static"))
CHANGE_HEADER = "x-thumbsmith"
#: Served files never run as a page of this origin, whatever their bytes are.
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
    "Cache-Control": "no-cache",
}

#: Where the on-demand origin is mounted in the same server.
ORIGIN_MOUNT = "/origin"

#: The page runs only its own script and shows only its own images (the manifest's
#: data-URI placeholders, and blob: for the on-demand rendition it fetched to read its
#: X-Thumbsmith-Cache); no other site may frame it (its Delete buttons).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True, slots=True)
class OnDemand:
    """What the page needs to ask the mounted origin for any width: a key to sign with
    (the page never sees it, only URLs signed with it) and the formats it makes."""

    signing_key: str
    formats: tuple[str, ...]
    max_side: int

    def url(self, source_key: str, width: int, fmt: str) -> str:
        params = {"w": str(width), "f": fmt}
        return ORIGIN_MOUNT + signing.signed_path(source_key, params, self.signing_key)


@dataclass(frozen=True, slots=True)
class Site:
    """The one source bucket folder the page is about."""

    store: LocalStore
    bucket: str
    keys: KeyMapper
    max_bytes: int
    #: What process() renders with: the detail view's SSIM per format needs it.
    config: ProcessConfig | None = None
    #: The origin mounted at ORIGIN_MOUNT, for the detail view's slider (None: no slider).
    ondemand: OnDemand | None = None

    @property
    def prefix(self) -> str:
        return self.keys.prefix

    @property
    def output_bucket(self) -> str:
        return self.keys.output_bucket(self.bucket)

    def source_keys(self) -> list[str]:
        try:
            infos = list(self.store.list(self.bucket, self.prefix))
        except ThumbsmithError:
            return []
        return [i.key for i in infos if self.keys.accepts(i.key)]


def upload_key(prefix: str, filename: str) -> str:
    """The key a browser's file name becomes: its last path part under the prefix,
    refused (UnsafeKey) where the local store would refuse it."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise UnsafeKey(f"file name {filename!r} contains control characters")
    key = prefix + name
    check_key(key)
    return key


def _error(status: int, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status, headers=headers or None)


def make_app(
    site: Site,
    activity: Activity,
    *,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
    lifespan: Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]] | None = None,
    origin: ASGIApp | None = None,
) -> Starlette:
    """``origin``: the on-demand origin's app, mounted at ORIGIN_MOUNT (with
    ``site.ondemand`` set, the detail view asks it for any width)."""
    routes = Routes(site, activity)
    mounted = [Mount(ORIGIN_MOUNT, app=origin)] if origin is not None else []
    return Starlette(
        routes=[
            *mounted,
            Route("/api/ondemand", routes.ondemand),
            Route("/", routes.index),
            Route("/api/sources", routes.sources),
            Route("/api/source", routes.source, methods=["GET"]),
            Route("/api/source", routes.delete, methods=["DELETE"]),
            Route("/api/upload", routes.upload, methods=["PUT"]),
            Route("/files/source/{key:path}", routes.source_file),
            Route("/files/output/{key:path}", routes.output_file),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[trusted_hosts(allowed_hosts)],
        lifespan=lifespan,
    )


class Routes:
    def __init__(self, site: Site, activity: Activity) -> None:
        self.site = site
        self.activity = activity

    # --- page and listing ----------------------------------------------------------
    def index(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    def card(self, key: str) -> dict[str, Any]:
        view = views.source_view(self.site.store, self.site.keys, self.site.bucket, key)
        entry = self.activity.get(key)
        if entry is not None and (entry.failed or entry.status == "pending"):
            view["status"], view["error"] = entry.status, entry.line if entry.failed else ""
        else:
            view["status"], view["error"] = ("done" if view["renditions"] else "pending"), ""
        view["render_ms"] = self.activity.render_ms(key)
        return view

    def sources(self, request: Request) -> Response:
        site = self.site
        return JSONResponse(
            {
                "bucket": site.bucket,
                "output_bucket": site.output_bucket,
                "prefix": site.prefix,
                # How messages name the prefix's objects (a path), as the CLI does.
                "prefix_name": site.store.object_name(site.bucket, site.prefix),
                "max_bytes": site.max_bytes,
                "sources": [self.card(key) for key in site.source_keys()],
            }
        )

    def _source_key(self, request: Request) -> str | Response:
        key = request.query_params.get("key", "")
        try:
            path = self.site.store.path(self.site.bucket, key)
        except UnsafeKey as exc:
            return _error(400, str(exc))
        if not self.site.keys.accepts(key) or not path.is_file():
            return _error(404, f"no source {key!r} under prefix {self.site.prefix!r}")
        return key

    def source(self, request: Request) -> Response:
        key = self._source_key(request)
        if isinstance(key, Response):
            return key
        view = self.card(key)
        view["manifest_json"] = views.read_manifest(
            self.site.store, self.site.keys, self.site.bucket, key
        )
        if self.site.config is not None:
            views.with_similarity(self.site.store, self.site.bucket, key, view, self.site.config)
        if self.site.ondemand is not None:
            view["ondemand"] = {"formats": ["auto", *self.site.ondemand.formats]}
        return JSONResponse(view)

    def ondemand(self, request: Request) -> Response:
        """``?key=&w=&f=``: the signed URL of that rendition at the mounted origin."""
        od = self.site.ondemand
        if od is None:
            return _error(404, "no on-demand origin in this server")
        key = self._source_key(request)
        if isinstance(key, Response):
            return key
        width, fmt = request.query_params.get("w", ""), request.query_params.get("f", "auto")
        if not width.isdigit() or not 1 <= int(width) <= od.max_side:
            return _error(400, f"w={width!r}: give a width from 1 to {od.max_side}")
        if fmt not in ("auto", *od.formats):
            return _error(400, f"f={fmt!r}: use auto or one of {', '.join(od.formats)}")
        return JSONResponse({"url": od.url(key, int(width), fmt)})

    # --- changes -------------------------------------------------------------------
    def delete(self, request: Request) -> Response:
        if CHANGE_HEADER not in request.headers:
            return _error(403, f"changes need the {CHANGE_HEADER} header")
        key = self._source_key(request)
        if isinstance(key, Response):
            return key
        # The watch sees the file go and process() removes the renditions and manifest.
        self.site.store.delete(self.site.bucket, key)
        self.activity.forget(key)
        return JSONResponse({"key": key, "status": "deleting"}, 202)

    async def upload(self, request: Request) -> Response:
        if CHANGE_HEADER not in request.headers:
            return _error(403, f"changes need the {CHANGE_HEADER} header")
        site = self.site
        try:
            key = upload_key(site.prefix, request.query_params.get("name", ""))
            site.store.path(site.bucket, key)
        except UnsafeKey as exc:
            return _error(400, str(exc))
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > site.max_bytes):
            return self._too_big(key, f"{length} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > site.max_bytes:
                return self._too_big(key, "the body")
        if not body:
            return _error(400, f"{site.store.object_name(site.bucket, key)}: the file is empty")
        self.activity.pending(key)
        # An atomic rename into the bucket folder: the watch sees one complete file.
        await run_in_threadpool(
            site.store.put,
            site.bucket,
            key,
            bytes(body),
            content_type=request.headers.get("content-type") or "application/octet-stream",
        )
        return JSONResponse({"key": key, "status": "pending"}, 201)

    def _too_big(self, key: str, what: str) -> Response:
        # The words of process()'s own ImageTooLarge, which the CLI prints.
        return _error(
            413,
            f"{self.site.store.object_name(self.site.bucket, key)}: {what} is over the limit "
            f"of {self.site.max_bytes} (THUMBSMITH_MAX_BYTES)",
            Connection="close",  # the rest of the body is never read
        )

    # --- files ---------------------------------------------------------------------
    def _file(self, bucket: str, key: str, media_type: str | None) -> Response:
        try:
            path = self.site.store.path(bucket, key)
        except UnsafeKey as exc:
            return _error(400, str(exc))
        if not path.is_file():
            return _error(404, f"no such file {self.site.store.object_name(bucket, key)!r}")
        if media_type is None:
            with path.open("rb") as fh:
                fmt = sniff_format(fh.read(4096))
            media_type = views.media_type(fmt)
        return FileResponse(path, media_type=media_type, headers=FILE_HEADERS)

    def source_file(self, request: Request) -> Response:
        key: str = request.path_params["key"]
        if not self.site.keys.accepts(key):
            return _error(404, f"no source {key!r} under prefix {self.site.prefix!r}")
        return self._file(self.site.bucket, key, None)

    def output_file(self, request: Request) -> Response:
        key: str = request.path_params["key"]
        media_type = "application/json" if key.endswith(".json") else None
        return self._file(self.site.output_bucket, key, media_type)
