"""serve answers the URL it prints: bound to another loopback address (127.0.0.2), that
address is one of the Host names it accepts; other names are still refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "photos").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "thumbsmith", "serve", str(tmp_path / "photos"),
         "--host", "127.0.0.2", "--port", "0", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    try:
        assert " at http://127.0.0.2:" in first, first + proc.stderr.read()
        yield first.rsplit(" at ", 1)[1].strip()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)


def status(url: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_printed_url_is_answered(served: str) -> None:
    assert status(served) == 200
    assert status(served + "api/sources") == 200


def test_other_host_names_are_still_refused(served: str) -> None:
    assert status(served, host="evil.example") == 400
