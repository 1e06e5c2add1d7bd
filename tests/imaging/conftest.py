"""Fixtures for the imaging tests; the helpers live in imaging_helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import CORPUS, MANIFEST


@pytest.fixture
def corpus() -> Path:
    """The third-party corpus folder, read in place; skips when it is absent."""
    if not MANIFEST:
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS
