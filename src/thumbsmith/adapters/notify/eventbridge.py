"""``Renditions Ready`` / ``Renditions Deleted`` as EventBridge events on one bus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thumbsmith.adapters.aws import map_error
from thumbsmith.adapters.notify import body
from thumbsmith.errors import NotifyError
from thumbsmith.service.ports import SOURCE

#: PutEvents refuses an entry over 256 KiB, counted as AWS documents it: the UTF-8 bytes
#: of Source, DetailType, Detail and each Resources item (plus 14 for Time, unused here).
MAX_ENTRY_BYTES = 256 * 1024


def entry_size(entry: Mapping[str, Any]) -> int:
    size = sum(len(str(entry[k]).encode("utf-8")) for k in ("Source", "DetailType", "Detail"))
    return size + sum(len(r.encode("utf-8")) for r in entry.get("Resources", []))


class EventBridgeNotifier:
    def __init__(self, client: Any, bus: str) -> None:
        self.client = client
        self.bus = bus
        self.name = f"eventbridge bus {bus}"

    def send(self, detail_type: str, detail: Mapping[str, Any], *, subject: str) -> None:
        entry: dict[str, Any] = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": body(detail).decode("utf-8"),
            "EventBusName": self.bus,
        }
        if subject.startswith("s3://"):
            entry["Resources"] = ["arn:aws:s3:::" + subject.removeprefix("s3://")]
        size = entry_size(entry)
        if size > MAX_ENTRY_BYTES:
            # Moto does not enforce this; AWS refuses it, and always will for this manifest.
            error = NotifyError(f"{self.name}: event of {size} bytes is over the 256 KiB limit")
            error.permanent = True
            raise error
        try:
            response = self.client.put_events(Entries=[entry])
        except Exception as exc:
            mapped = map_error(exc, where=self.name, action="PutEvents")
            raise NotifyError(f"{self.name}: {mapped}") from exc
        # PutEvents answers 200 even when the entry failed: the count says so.
        if response.get("FailedEntryCount"):
            failed = (response.get("Entries") or [{}])[0]
            raise NotifyError(
                f"{self.name}: PutEvents refused the event: "
                f"{failed.get('ErrorCode', '?')} {failed.get('ErrorMessage', '')}".rstrip()
            )
