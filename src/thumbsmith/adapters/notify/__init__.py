"""Notifiers ("renditions ready"): EventBridge (:mod:`.eventbridge`) and a signed
webhook (:mod:`.webhook`), implementing :class:`thumbsmith.service.ports.Notifier`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def body(detail: Mapping[str, Any]) -> bytes:
    """The one JSON serialisation every notifier sends (compact, UTF-8)."""
    return json.dumps(detail, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
