"""The ThumbHash reference: Evan Wallace's npm ``thumbhash`` (tests/node), run by node;
a test that needs it skips with the reason when node or the package is missing."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from support.helpers import REPO

NODE_DIR = REPO / "tests" / "node"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/bootstrap installs it): no reference decoder")
    if not (NODE_DIR / "node_modules" / "thumbhash").is_dir():
        pytest.skip("npm thumbhash not installed: run 'npm ci' in tests/node (scripts/bootstrap)")
    return node


def reference(*args: str) -> str:
    out = subprocess.run(
        [_node(), "thumbhash.mjs", *args],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return out.stdout.strip()
