"""A bad argument or setting stops the real CLI with one line naming it and the reason:
no traceback, a non-zero exit, nothing written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.helpers import jpeg

ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("THUMBSMITH_", "AWS_")) or k == "AWS_CA_BUNDLE"
}


def run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "thumbsmith", *args],
        capture_output=True, text=True, env={**ENV, **env}, cwd=cwd, timeout=120, check=False,
    )  # fmt: skip


def one_line(r: subprocess.CompletedProcess[str], *names: str) -> str:
    """The one stderr line, checked: non-zero exit, no traceback, every name in it."""
    assert r.returncode != 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg(300, 200))
    return path


def test_output_that_is_a_file(photo: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    line = one_line(run("convert", str(photo), "-o", str(tmp_path / "afile")), "-o", "afile")
    assert "is a file" in line
    assert (tmp_path / "afile").read_text() == "x"


def test_output_under_a_file(photo: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    line = one_line(run("convert", str(photo), "-o", str(tmp_path / "afile" / "out")), "-o")
    assert "Not a directory" in line


def test_empty_output_is_refused_not_the_current_folder(photo: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    one_line(run("convert", str(photo), "-o", "", cwd=tmp_path), "-o ''")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def _read_only_mount(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a user+mount namespace where ``tmp_path/ro`` is a read-only tmpfs
    holding an empty folder ``out`` (made before the remount)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs unshare(1) for a read-only mount")
    setup = f"mount -t tmpfs tmpfs {ro} && mkdir {ro}/out && mount -o remount,ro {ro}"
    probe = subprocess.run([unshare, "--user", "--map-root-user", "--mount", "sh", "-c", setup],
                           capture_output=True, check=False)  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"no user namespaces here: {probe.stderr.decode().strip()}")
    return subprocess.run(
        [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", f"{setup} && {script}"],
        capture_output=True, text=True, env=ENV, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("out", ["out", "new"])
def test_output_on_a_read_only_filesystem(photo: Path, tmp_path: Path, out: str) -> None:
    """``out`` exists (a write would fail), ``new`` does not (mkdir fails)."""
    command = f"{sys.executable} -m thumbsmith convert {photo} -o {tmp_path}/ro/{out}"
    line = one_line(_read_only_mount(tmp_path, command), "-o", f"ro/{out}")
    assert "read-only file system" in line.lower()


def test_unknown_log_level_is_refused_by_config_and_every_command(
    photo: Path, tmp_path: Path
) -> None:
    for args in (["config"], ["convert", str(photo), "-o", str(tmp_path / "out")]):
        line = one_line(run(*args, THUMBSMITH_LOG_LEVEL="LOUD"), "THUMBSMITH_LOG_LEVEL", "LOUD")
        assert "DEBUG" in line
    assert not (tmp_path / "out").exists()
    r = run("config", THUMBSMITH_LOG_LEVEL="warning")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_serve_port_out_of_range(tmp_path: Path, port: str) -> None:
    (tmp_path / "photos").mkdir()
    one_line(run("serve", str(tmp_path / "photos"), "--port", port), f"--port {port}", "0-65535")


NO_REGION = {
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def test_worker_without_a_region_names_the_variable(tmp_path: Path) -> None:
    r = run("worker", "--queue-url", "http://127.0.0.1:9/000000000000/q", HOME=str(tmp_path),
            **NO_REGION)  # type: ignore[arg-type]  # fmt: skip
    one_line(r, "AWS_DEFAULT_REGION", "SQS")


def test_backfill_enqueue_without_a_region_names_the_variable(tmp_path: Path) -> None:
    r = run("backfill", "s3://photos/images/", "--enqueue", "http://127.0.0.1:9/000000000000/q",
            HOME=str(tmp_path), **NO_REGION)  # type: ignore[arg-type]  # fmt: skip
    one_line(r, "AWS_DEFAULT_REGION")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["worker", "--queue-url", "thumbsmith-jobs"], "--queue-url 'thumbsmith-jobs'"),
        (["worker", "--queue-url", "ftp://host/q"], "--queue-url"),
        (["worker", "--queue-url", "https://sqs.us-east-1.amazonaws.com/"], "no queue name"),
        (["backfill", "s3://photos/", "--enqueue", "jobs"], "--enqueue 'jobs'"),
    ],
)
def test_queue_url_is_checked_before_any_call(args: list[str], option: str) -> None:
    one_line(run(*args, AWS_DEFAULT_REGION="us-east-1"), option)


def test_config_into_a_closed_pipe_stops_quietly() -> None:
    """``thumbsmith config | head -2``: the reader is gone. Like coreutils, nothing on
    stderr, and the exit a shell reports for SIGPIPE; never a BrokenPipeError trace."""
    read, write = os.pipe()
    os.close(read)  # deterministic: every write fails, whatever the pipe buffer holds
    try:
        r = subprocess.run(
            [sys.executable, "-m", "thumbsmith", "config"],
            stdout=write, stderr=subprocess.PIPE, text=True, env=ENV, timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(write)
    assert r.stderr == "" and r.returncode == 141


def test_config_piped_to_head_in_a_shell() -> None:
    command = f"set -o pipefail; {sys.executable} -m thumbsmith config | head -2"
    r = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=ENV,
                       timeout=60, check=False)  # fmt: skip
    assert len(r.stdout.splitlines()) == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.returncode in (0, 141)
