"""Signed on-demand URLs: ``/img/{source key}?w=640&f=webp&exp=...&s=SIGNATURE``.

``s`` is the base64url encoding, without padding, of HMAC-SHA256(key, canonical), where
the canonical form is

* ``/img/`` + the source key with each ``/``-separated segment percent-encoded (RFC 3986
  unreserved characters ``A-Z a-z 0-9 - . _ ~`` kept, everything else ``%XX`` of its
  UTF-8 bytes, upper-case hex), the ``/`` between segments kept;
* ``?`` + every other parameter but ``s``, sorted by name, as ``name=value`` with the value
  percent-encoded the same way, joined by ``&``.

So two clients that encode the same URL differently (``%20`` or ``+``, ``%7E`` or ``~``)
sign the same string, and nobody can move a parameter between the path and the query.
``exp`` (Unix seconds), when present, is signed like any parameter and refused once past.
Several keys are accepted in turn (rotation); each comparison is constant-time. The CloudFront
Function at the edge implements the same rules: ``tests/vectors/signing.json`` holds the
cases both must agree on.

Pure: no I/O, no clock of its own (``now`` is passed in).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, quote, unquote, urlsplit

PREFIX = "/img/"
SIGNATURE = "s"
EXPIRES = "exp"


def encode(text: str) -> str:
    """RFC 3986 percent-encoding: unreserved characters kept, UTF-8 bytes otherwise."""
    return quote(text, safe="-._~", encoding="utf-8", errors="strict")


def canonical(source_key: str, params: Mapping[str, str]) -> str:
    """The string that is signed (``s`` itself left out)."""
    path = PREFIX + "/".join(encode(segment) for segment in source_key.split("/"))
    query = "&".join(
        f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()) if k != SIGNATURE
    )
    return f"{path}?{query}"


def signature(key: str | bytes, text: str) -> str:
    raw = key.encode("utf-8") if isinstance(key, str) else key
    digest = hmac.new(raw, text.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign(source_key: str, params: Mapping[str, str], key: str | bytes) -> str:
    """The ``s`` of a request for ``source_key`` with ``params`` (without ``s``)."""
    return signature(key, canonical(source_key, params))


def signed_query(source_key: str, params: Mapping[str, str], key: str | bytes) -> str:
    """The query string of a signed URL: the parameters as given (encoded), then ``s``."""
    pairs = [*sorted(params.items()), (SIGNATURE, sign(source_key, params, key))]
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs)


def signed_path(source_key: str, params: Mapping[str, str], key: str | bytes) -> str:
    """``/img/{key}?{params}&s=...``: the path and query of a signed URL."""
    path = PREFIX + "/".join(encode(segment) for segment in source_key.split("/"))
    return f"{path}?{signed_query(source_key, params, key)}"


def sign_url(
    url: str, key: str | bytes, *, expires: float | None = None, now: float | None = None
) -> str:
    """``url`` (``/img/...?w=640&f=webp`` or a whole ``https://host/img/...`` one) signed
    with ``key``; ``expires``: seconds from ``now`` (default: the clock) until it is
    refused, as ``exp``. A ``s`` (or, with ``expires``, an ``exp``) already there is
    replaced. Raises :class:`ValueError` for a URL that is no ``/img/`` one."""
    import time

    parts = urlsplit(url)
    path = unquote(parts.path)
    if not path.startswith(PREFIX) or len(path) == len(PREFIX):
        raise ValueError(f"{url!r} is not an on-demand URL: its path must be {PREFIX}SOURCE_KEY")
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params.pop(SIGNATURE, None)
    if expires is not None:
        params[EXPIRES] = str(int((time.time() if now is None else now) + expires))
    head = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return head + signed_path(path[len(PREFIX) :], params, key)


class Check(StrEnum):
    OK = "ok"
    UNSIGNED = "unsigned"  # no ``s``
    BAD = "bad-signature"  # no key gives it (tampered, wrong key)
    EXPIRED = "expired"  # signed, but ``exp`` is past
    BAD_EXPIRY = "bad-expiry"  # ``exp`` is not a whole number of seconds


@dataclass(frozen=True, slots=True)
class Verdict:
    check: Check
    key_index: int = -1  # which key matched (0: the newest), for rotation metrics

    @property
    def ok(self) -> bool:
        return self.check is Check.OK


def verify(
    source_key: str, params: Mapping[str, str], keys: Sequence[str | bytes], now: float
) -> Verdict:
    """Whether ``params['s']`` signs this request under one of ``keys``, in time."""
    given = params.get(SIGNATURE)
    if not given:
        return Verdict(Check.UNSIGNED)
    text = canonical(source_key, params)
    matched = -1
    for index, key in enumerate(keys):
        # Every key is tried, even after a match: the time taken says nothing about which.
        if hmac.compare_digest(signature(key, text).encode(), given.encode("utf-8", "replace")):
            matched = index if matched < 0 else matched
    if matched < 0:
        return Verdict(Check.BAD)
    expires = params.get(EXPIRES)
    if expires is not None:
        if not expires.isdigit() or len(expires) > 12:
            return Verdict(Check.BAD_EXPIRY, matched)
        if int(expires) < now:
            return Verdict(Check.EXPIRED, matched)
    return Verdict(Check.OK, matched)


def parse_keys(text: str) -> tuple[str, ...]:
    """``THUMBSMITH_ORIGIN_SIGNING_KEYS``: keys separated by commas, the newest first."""
    return tuple(k.strip() for k in text.split(",") if k.strip())
