"""Shared fixtures: the third-party corpus (read in place, never copied) and --runslow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import CORPUS


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run the long runs too")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="long run: use --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "manifest.json").is_file():
        pytest.skip("corpus not found at ../shared/corpus")
    return CORPUS


@pytest.fixture(scope="session")
def manifest(corpus: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((corpus / "manifest.json").read_text())
    return entries
