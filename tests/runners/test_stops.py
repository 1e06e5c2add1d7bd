"""Every long-running command stops on SIGINT and on SIGTERM within 2 s, whatever it
inherited: each runs as a real process started by a parent that ignores SIGINT (as
``nohup``, ``&`` in a non-interactive shell and some CI runners leave it), so Python's
default KeyboardInterrupt never comes. No traceback, no ``resource_tracker`` warning, and
the exit status users script against: 0 for the services (a stop is how they end), 130
for SIGINT and 143 for SIGTERM for the one-shot batch commands cut short (as a shell
reports a process killed by that signal), whose summary line says what was done.

A command added later gets a row in COMMANDS.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from support.aws import make_queue, queue_depth, worker_env
from support.helpers import wait_for
from thumbsmith.adapters.storage.local import is_temp_name

STOP_WITHIN_S = 2.0
PHOTOS = 40
SIGNALS = [signal.SIGINT, signal.SIGTERM]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """The command, from a parent ignoring SIGINT, once it printed its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "thumbsmith", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_ignore_sigint,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    first = proc.stdout.readline() if ready else ""
    if not first:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"{args[0]} printed nothing: {err}")
    return proc, first


def _stop(proc: subprocess.Popen[str], sig: int) -> tuple[float, str, str]:
    """Send ``sig``; how long the process took to exit, and what it printed."""
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    finally:
        took = time.monotonic() - sent
        if proc.poll() is None:
            proc.kill()
    out, err = proc.communicate(timeout=10)  # closed: no render child outlived it
    return took, out, err


@pytest.fixture(scope="module")
def photo() -> bytes:
    """One photo-like JPEG (noise compresses and decodes like a photo), big enough that
    40 of them on one render process take several seconds."""
    noise = [Image.effect_noise((2400, 1800), 60 + 10 * i) for i in range(3)]
    buf = io.BytesIO()
    Image.merge("RGB", noise).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@dataclass
class Setup:
    tmp: Path
    photo: bytes
    env: dict[str, str]
    queue_url: str = ""

    @property
    def bucket(self) -> Path:
        return self.tmp / "photos"

    def photos(self, count: int) -> None:
        (self.bucket / "images").mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (self.bucket / "images" / f"photo {i:02d}.jpg").write_bytes(self.photo)


def _manifests(setup: Setup) -> list[Path]:
    return list((setup.tmp / "photos-output" / "manifest").rglob("*.json"))


@dataclass(frozen=True)
class Command:
    args: Callable[[Setup], list[str]]
    exit_status: Callable[[int], int]  # from the signal
    prepare: Callable[[Setup], None] = lambda setup: None
    running: Callable[[Setup], bool] = lambda setup: True  # once its first line is out
    check: Callable[[Setup, str], None] = lambda setup, out: None  # after the stop


def _service(signum: int) -> int:
    return 0


def _batch(signum: int) -> int:
    return 128 + signum


def _whole(setup: Setup, out: str) -> None:
    """A batch run cut short: it says so, and every object it wrote is whole."""
    assert "stopped by SIG" in out and "the next run does the rest" in out, out
    out_dir = setup.tmp / "photos-output"
    written = [p for p in out_dir.rglob("*") if p.is_file() and not is_temp_name(p.name)]
    assert written, "nothing was rendered before the stop: the test proves nothing"
    for path in written:
        if path.suffix == ".json":
            json.loads(path.read_text())
        else:
            with Image.open(path) as image:
                image.load()  # a truncated JPEG raises here
    assert len(_manifests(setup)) < PHOTOS, "the run had finished before the stop"


def _batch_command(*args: str) -> Command:
    return Command(
        args=lambda s: [args[0], str(s.bucket), "--workers", "1", *args[1:]],
        exit_status=_batch,
        prepare=lambda s: s.photos(PHOTOS),
        # A render in flight when the signal comes: one source is done, others are not.
        running=lambda s: wait_for(lambda: bool(_manifests(s)), timeout=60),
        check=_whole,
    )


COMMANDS: dict[str, Command] = {
    "watch": Command(lambda s: ["watch", str(s.bucket), "--workers", "1"], _service),
    "serve": Command(lambda s: ["serve", str(s.bucket), "--port", "0", "--workers", "1"], _service),
    "receive": Command(
        lambda s: ["receive", "--listen", "127.0.0.1:0", "--workers", "1"], _service
    ),
    "origin": Command(
        lambda s: ["origin", str(s.bucket), "--listen", "127.0.0.1:0", "--workers", "1"], _service
    ),
    "worker": Command(
        lambda s: ["worker", "--queue-url", s.queue_url, "--concurrency", "1"], _service
    ),
    "backfill": _batch_command("backfill", "--no-progress"),
    "sync": _batch_command("sync"),
}


@pytest.fixture
def setup(tmp_path: Path, photo: bytes) -> Setup:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}
    env["THUMBSMITH_RECEIVE_TOKEN"] = "a-token-for-the-test-only-0123456789"
    made = Setup(tmp_path, photo, env)
    made.bucket.mkdir()
    return made


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize("name", [n for n in COMMANDS if n != "worker"])
def test_each_command_stops_on_the_signal_though_sigint_was_ignored(
    name: str, sig: int, setup: Setup
) -> None:
    _stops(COMMANDS[name], sig, setup)


@pytest.fixture
def worker_setup(setup: Setup, sqs: Any, name: str) -> Setup:
    setup.queue_url = make_queue(sqs, name, visibility=60)
    # The default poll_wait, not the 1 s the other worker tests set.
    setup.env = {k: v for k, v in worker_env().items() if k != "THUMBSMITH_POLL_WAIT"}
    return setup


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_the_worker_stops_in_the_middle_of_a_long_poll(sig: int, worker_setup: Setup) -> None:
    proc, first = _start(COMMANDS["worker"].args(worker_setup), worker_setup.env)
    time.sleep(0.5)  # inside a long poll now, on an empty queue
    took, out, err = _stop(proc, sig)
    _clean(took, proc.returncode, 0, err, first + out)


def test_a_message_the_last_poll_brings_goes_back_to_the_queue(
    worker_setup: Setup, sqs: Any, name: str
) -> None:
    proc, _ = _start(COMMANDS["worker"].args(worker_setup), worker_setup.env)
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    # Sent while the stopping worker's last poll is open: that poll returns it, and it
    # must be handed back, not kept hidden for the 60 s visibility timeout.
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": name})
    sqs.send_message(QueueUrl=worker_setup.queue_url, MessageBody=body)
    proc.wait(timeout=30)
    took = time.monotonic() - sent
    out, err = proc.communicate(timeout=10)
    _clean(took, proc.returncode, 0, err, out)
    assert wait_for(lambda: queue_depth(sqs, worker_setup.queue_url) == (1, 0), timeout=5), (
        queue_depth(sqs, worker_setup.queue_url),
        out,
    )


def _stops(command: Command, sig: int, setup: Setup) -> None:
    command.prepare(setup)
    proc, first = _start(command.args(setup), setup.env)
    try:
        assert command.running(setup), f"never got going: {first}"
    except BaseException:
        proc.kill()
        raise
    took, out, err = _stop(proc, sig)
    _clean(took, proc.returncode, command.exit_status(sig), err, first + out)
    command.check(setup, first + out)


@pytest.mark.parametrize("name", ["watch", "serve", "receive", "origin"])
def test_a_ctrl_c_that_keeps_coming_while_it_stops_prints_no_traceback(
    name: str, setup: Setup
) -> None:
    """``uv run`` forwards a Ctrl-C again ~200 ms after the process group got it
    (astral-sh/uv#13925); a copy landing in the clean-up or the interpreter's exit once
    printed a SystemExit traceback from logging's atexit hook. Here the copies keep
    coming every 10 ms until the process is gone."""
    proc, first = _start(COMMANDS[name].args(setup), setup.env)
    sent = time.monotonic()
    while proc.poll() is None and time.monotonic() - sent < 10:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        time.sleep(0.01)
    took = time.monotonic() - sent
    if proc.poll() is None:
        proc.kill()
    out, err = proc.communicate(timeout=10)
    _clean(took, proc.returncode, 0, err, first + out)


def _clean(took: float, status: int, expected: int, err: str, out: str) -> None:
    assert status == expected, (status, out, err)
    assert "Traceback" not in err and "resource_tracker" not in err, err
    assert took < STOP_WITHIN_S, f"took {took:.2f} s to stop; {out} {err}"


def test_the_harness_really_starts_them_with_sigint_ignored() -> None:
    """The premise: a process started this way has SIGINT in its ignored set."""
    script = "print(open('/proc/self/status').read())"
    r = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        preexec_fn=_ignore_sigint,
        check=True,
    )
    ignored = int(
        next(line for line in r.stdout.splitlines() if line.startswith("SigIgn:")).split()[1], 16
    )
    assert ignored & (1 << (signal.SIGINT - 1))
