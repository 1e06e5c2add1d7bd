"""The CloudFront Function (deploy/cloudfront/viewer-request.js): every shared vector under
node's own test runner, and the limits CloudFront puts on a function."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FUNCTION = REPO / "deploy" / "cloudfront" / "viewer-request.js"
NODE_TEST = REPO / "tests" / "node" / "viewer_request.test.mjs"

pytestmark = pytest.mark.node


def test_the_function_decides_every_vector_as_the_python() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/bootstrap installs it)")
    proc = subprocess.run(
        [node, "--test", str(NODE_TEST)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    failed = [line for line in proc.stdout.splitlines() if line.startswith("not ok")]
    assert proc.returncode == 0, "\n".join(failed) + "\n" + proc.stdout[-4000:] + proc.stderr
    assert "# fail 0" in proc.stdout
