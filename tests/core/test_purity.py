"""The core stays pure: rendering loads no settings, storage, service or boto3."""

from __future__ import annotations

import subprocess
import sys

# --- the core stays pure ------------------------------------------------------------------


def test_core_render_imports_no_settings_storage_or_boto3() -> None:
    code = (
        "import sys; from thumbsmith.core import render; render\n"
        "bad = [m for m in sys.modules if m.startswith(('thumbsmith.settings', "
        "'thumbsmith.adapters', 'thumbsmith.service', 'thumbsmith.runners', 'boto3', "
        "'botocore'))]\n"
        "assert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
