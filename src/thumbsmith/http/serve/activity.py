"""What the watch reported per source key, for the page: pending, done, or the error line.

Render times (``process()``'s ``ms`` for events that wrote renditions) are kept in a small
JSON file, ``ROOT/.thumbsmith-serve/BUCKET.json``, outside every bucket folder (bucket
names cannot start with '.'), so a restarted server still shows them.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from thumbsmith.service.outcome import EventResult


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    status: str  # "pending", a result status, or a failure kind
    line: str = ""  # the CLI's line for a failure
    failed: bool = False


class Activity:
    def __init__(self, bucket: str, times_file: Path | None = None) -> None:
        self.bucket = bucket
        self.times_file = times_file
        self._lock = threading.Lock()
        self._entries: dict[str, ActivityEntry] = {}
        self._times: dict[str, float] = {}
        if times_file is not None:
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(times_file.read_text(encoding="utf-8"))
                self._times = {str(k): float(v) for k, v in loaded.items()}

    def pending(self, key: str) -> None:
        with self._lock:
            self._entries[key] = ActivityEntry("pending")

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def record(self, result: EventResult) -> None:
        """Called by the watch thread for each finished event."""
        prefix = f"s3://{self.bucket}/"
        if not result.uri.startswith(prefix):
            return
        key = result.uri[len(prefix) :]
        with self._lock:
            self._entries[key] = ActivityEntry(result.status, result.line, result.failed)
            if result.status == "written":
                self._times[key] = round(result.ms, 1)
            elif result.status == "deleted":
                self._entries.pop(key, None)
                self._times.pop(key, None)
            else:
                return
            times = dict(self._times)
        self._save(times)

    def get(self, key: str) -> ActivityEntry | None:
        with self._lock:
            return self._entries.get(key)

    def render_ms(self, key: str) -> float | None:
        with self._lock:
            return self._times.get(key)

    def _save(self, times: dict[str, float]) -> None:
        if self.times_file is None:
            return
        with contextlib.suppress(OSError):
            self.times_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.times_file.with_name(self.times_file.name + ".tmp")
            tmp.write_text(json.dumps(times), encoding="utf-8")
            tmp.replace(self.times_file)
