"""``Renditions Ready`` as a signed HTTP POST (stdlib only, for any S3-compatible setup).

The body is the manifest's JSON, serialised once; the same bytes are signed and sent on
every attempt. Headers:

* ``X-Thumbsmith-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``: verify it over
  the raw bytes, in constant time (``hmac.compare_digest``), before parsing.
* ``X-Thumbsmith-Event``: ``Renditions Ready`` or ``Renditions Deleted``.
* ``X-Thumbsmith-Delivery``: a hash of event and body, the same on every attempt and on
  every retry of the event, so a receiver can drop duplicates (delivery is at least once).

Attempts are bounded (``notify_attempts``), each with a short timeout, with full-jitter
exponential backoff between them; retried on connection errors, timeouts, 408, 429 and
5xx. Redirects are not followed: urllib would re-send a signed body elsewhere, or turn
the POST into a GET.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from thumbsmith.adapters.notify import body
from thumbsmith.errors import ConfigError, NotifyError

SIGNATURE_HEADER = "X-Thumbsmith-Signature"
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_DELAY = 4.0


def sign(secret: str, data: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


def verify(secret: str, data: bytes, header: str | None) -> bool:
    """What a receiver does (and the tests): constant-time compare over the raw body."""
    return bool(header) and hmac.compare_digest(sign(secret, data), (header or "").strip())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookNotifier:
    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = 5.0,
        attempts: int = 3,
        base_delay: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"webhook URL must be http:// or https://, got {url!r}")
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.base_delay = base_delay
        self.sleep = sleep
        parts = urlsplit(url)
        # Never the query or user info: either may carry a token.
        self.name = f"webhook {parts.scheme}://{parts.hostname}{parts.path}"
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, detail_type: str, detail: Mapping[str, Any], *, subject: str) -> None:
        data = body(detail)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "thumbsmith-webhook/1",
            SIGNATURE_HEADER: sign(self.secret, data),
            "X-Thumbsmith-Event": detail_type,
            "X-Thumbsmith-Delivery": hashlib.sha256(detail_type.encode() + data).hexdigest()[:32],
        }
        errors: list[str] = []
        for attempt in range(1, self.attempts + 1):
            retry, retry_after = self._attempt(data, headers, errors)
            if retry is None:
                return
            if not retry or attempt == self.attempts:
                break
            delay = random.uniform(0, min(MAX_DELAY, self.base_delay * 2 ** (attempt - 1)))  # noqa: S311
            self.sleep(min(max(delay, retry_after), MAX_DELAY))
        raise NotifyError(f"{self.name}: {len(errors)} attempt(s) failed: {'; '.join(errors)}")

    def _attempt(
        self, data: bytes, headers: Mapping[str, str], errors: list[str]
    ) -> tuple[bool | None, float]:
        """One POST: (None, 0) on success, else (worth retrying?, Retry-After seconds)."""
        # The URL's scheme is checked to be http(s) when the setting loads.
        request = urllib.request.Request(  # noqa: S310
            self.url, data=data, headers=dict(headers), method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = int(response.status)
                response.read(65536)
        except urllib.error.HTTPError as exc:
            errors.append(f"HTTP {exc.code}")
            after = exc.headers.get("Retry-After", "") if exc.headers else ""
            exc.close()
            return exc.code in RETRY_STATUS, float(after) if after.isdigit() else 0.0
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
            errors.append(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")
            return True, 0.0
        if 200 <= status < 300:
            return None, 0.0
        errors.append(f"HTTP {status}")
        return False, 0.0
