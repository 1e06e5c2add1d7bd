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


def test_the_deployed_copy_is_the_minified_source() -> None:
    """viewer-request.min.js and the template's FunctionCode are what build_edge.mjs makes
    of the source today (terser, pinned in tests/node/package.json)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/bootstrap installs it)")
    if not (REPO / "tests" / "node" / "node_modules" / "terser").is_dir():
        pytest.skip("npm terser not installed: run 'npm ci' in tests/node (scripts/bootstrap)")
    proc = subprocess.run(
        [node, str(REPO / "tests" / "node" / "build_edge.mjs"), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_only_the_stack_parameters_are_substituted() -> None:
    """Fn::Sub reads every ${...}: the function's own code must hold none."""
    assert "${" not in FUNCTION.read_text()
    assert "${" not in (FUNCTION.parent / "viewer-request.min.js").read_text()
