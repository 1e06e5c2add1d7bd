"""Message queues as thumbsmith needs them: receive, acknowledge, hide, send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    receipt: str
    body: str
    receive_count: int = 1


class Queue(Protocol):
    """One queue. Errors are thumbsmith's typed errors (TransientError, AccessDenied,
    ConfigError for a queue that does not exist), never the client library's."""

    url: str

    def has_redrive(self) -> bool: ...

    def receive(self, max_messages: int, *, wait: int, visibility: int) -> list[Message]: ...

    def delete(self, receipt: str) -> None: ...

    def change_visibility(self, receipt: str, timeout: int) -> None: ...

    def send_batch(self, bodies: Sequence[str]) -> None: ...
