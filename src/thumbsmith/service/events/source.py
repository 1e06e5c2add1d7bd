"""The shape of one event source's parser, so a new source is one file and one line in
:data:`thumbsmith.service.events.parse.SHAPES` (or ``RECORDS``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from thumbsmith.service.events.model import ObjectEvent

#: Parse a payload nested inside this one (an SQS body, an SNS message), naming the
#: envelope it came through (``"sqs"``, ``"sns"``).
Nested = Callable[[object, str], Iterator[ObjectEvent]]


@dataclass(frozen=True, slots=True)
class EventSource:
    """One shape of payload: ``detect`` tells it from the others by its members alone;
    ``parse`` yields its object events. ``via`` names the envelopes it came through
    (``"direct"``, ``"sqs"``, ``"sqs/sns"``)."""

    name: str
    detect: Callable[[dict[str, Any]], bool]
    parse: Callable[[dict[str, Any], str, Nested], Iterator[ObjectEvent]]
