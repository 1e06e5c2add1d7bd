"""Fixtures the runner tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.aws import LogCollector, collecting_logs


@pytest.fixture
def logs() -> Iterator[LogCollector]:
    """The 'thumbsmith' logger's records during the test (the in-process handlers)."""
    with collecting_logs() as collector:
        yield collector
