"""Telling an app that renditions are ready: the :class:`Notifier` protocol.

The service calls every configured notifier after the manifest is written (and after a
removal). A notifier raises :class:`thumbsmith.errors.NotifyError` when it could not
deliver; it never touches the renditions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

SOURCE = "thumbsmith"
READY = "Renditions Ready"
DELETED = "Renditions Deleted"


class Notifier(Protocol):
    #: What the logs call it ("webhook https://app.example.com/hook"); never a secret.
    name: str

    def send(self, detail_type: str, detail: Mapping[str, Any], *, subject: str) -> None:
        """Deliver ``detail`` (JSON-able) as a ``detail_type`` event about ``subject``
        (the source's s3:// URI), or raise NotifyError."""
        ...


def body(detail: Mapping[str, Any]) -> bytes:
    """The one JSON serialisation every notifier sends (compact, UTF-8)."""
    return json.dumps(detail, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
