"""Every command the README shows works in a new shell after the set-up.

A new shell here is ``env -i`` with a fresh ``HOME`` and the ``PATH`` a new Debian shell
has (``/usr/local/bin:/usr/bin:/bin``), where a temp folder stands in for
``/usr/local/bin`` (scripts/bootstrap links ``uv`` there; BOOTSTRAP_LINK_DIR points it at
the temp folder so the test never touches the machine's own). Nothing of the caller's
environment leaks in: not its PATH (where ``~/.local/bin`` may be), not its HOME.

Each README command is run as written where that is quick and local, with paths swapped
for temp files where it names example files, until its first line where it runs until
Ctrl-C, and only resolved (``--help``, ``--collect-only``) where it is the whole suite, a
long run or the cloud. A README command missing from PLAN fails the test.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.helpers import CORPUS, REPO, jpeg, size_of

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 120 60\n0 0 moveto 120 60 lineto stroke\n"


@dataclass(frozen=True)
class Try:
    how: str  # run | start (until its first line, then Ctrl-C) | resolve | cloud
    command: str = ""  # what runs instead of the README's text, when it differs
    expect: str = ""  # in its output


PLAN: dict[str, Try] = {
    "./scripts/demo": Try("run", expect="  uv run thumbsmith serve demo/photos\n"),
    "./scripts/test": Try("resolve", "bash -n scripts/test && test -x scripts/test"),
    "uv run thumbsmith serve demo/photos": Try(
        "start", "uv run thumbsmith serve demo/photos --port 0", " at http://127.0.0.1:"
    ),
    "uv run thumbsmith convert photo.heic scan.eps -o out/": Try(
        "run", "uv run thumbsmith convert {tmp}/photo.heic {tmp}/scan.eps -o {tmp}/out/", "160x120"
    ),
    "uv run thumbsmith backfill ~/buckets/photos --prefix images/": Try("run", expect="written"),
    "uv run thumbsmith watch ~/buckets/photos": Try("start", expect="watching "),
    "uv run thumbsmith package --arch x86_64 --python 3.12 -o dist/": Try(
        "resolve", "uv run thumbsmith package --help"
    ),
    "cd deploy && sam deploy --guided": Try("cloud"),
    "uv run thumbsmith backfill s3://BUCKET/images/ --enqueue QUEUE_URL": Try(
        "resolve", "uv run thumbsmith backfill --help", "--enqueue"
    ),
    'THUMBSMITH_RENDITIONS="large=1280,medium=640,thumb=160x160" THUMBSMITH_QUALITY=80 '
    "uv run thumbsmith config": Try("run", expect="quality = 80"),
    # Example values of a setting: they must parse, so `config` is run with each.
    'THUMBSMITH_RENDITIONS="large=1280:avif+webp+jpeg,card=400x300:cover:attention:webp+jpeg,'
    'thumb=160"': Try(
        "run",
        'THUMBSMITH_RENDITIONS="large=1280:avif+webp+jpeg,card=400x300:cover:attention:webp+jpeg,'
        'thumb=160" uv run thumbsmith config',
        "card",
    ),
    'THUMBSMITH_RENDITIONS="hero=1920x600:cover:entropy:avif@45+jpeg,logo=256:contain:png,'
    'clip=480:webp:animated"': Try(
        "run",
        'THUMBSMITH_RENDITIONS="hero=1920x600:cover:entropy:avif@45+jpeg,logo=256:contain:png,'
        'clip=480:webp:animated" uv run thumbsmith config',
        "hero",
    ),
    "./scripts/fuzz": Try("run", "./scripts/fuzz --count 20 --jobs 1"),
    "uv run pytest tests/reliability --runslow -k 2000 -s": Try(
        "resolve", "uv run pytest tests/reliability --runslow -k 2000 --collect-only -q", "2000"
    ),
    "uv run pytest tests/core -q": Try(
        "resolve", "uv run pytest tests/core -q --collect-only", "tests/core/"
    ),
    "uv run pytest --runslow": Try("resolve", "uv run pytest --version"),
    # S3-compatible stores: the exports run as written; the rest needs a store.
    "export AWS_ENDPOINT_URL=http://127.0.0.1:9000": Try("run"),
    "export AWS_ACCESS_KEY_ID=thumbsmith AWS_SECRET_ACCESS_KEY=… AWS_DEFAULT_REGION=us-east-1": Try(
        "run"
    ),
    "uv run thumbsmith config | tail -3": Try(
        "run",
        "AWS_ENDPOINT_URL=http://127.0.0.1:9000 uv run thumbsmith config | tail -3",
        "s3 = http://127.0.0.1:9000    [AWS_ENDPOINT_URL]",
    ),
    "uv run thumbsmith backfill s3://photos/images/": Try(
        "resolve", "uv run thumbsmith backfill --help", "AWS_ENDPOINT_URL"
    ),
    "THUMBSMITH_RECEIVE_TOKEN=$(openssl rand -hex 24) uv run thumbsmith receive --listen "
    "127.0.0.1:8780": Try(
        "start",
        "THUMBSMITH_RECEIVE_TOKEN=$(openssl rand -hex 24) uv run thumbsmith receive --listen "
        "127.0.0.1:0 --workers 1",
        "listening on http://127.0.0.1:",
    ),
    # A MinIO server and its mc client: tests/runners/test_receive.py posts MinIO's bodies.
    "mc admin config set ALIAS notify_webhook:thumbsmith endpoint=http://127.0.0.1:8780/events "
    "auth_token=$THUMBSMITH_RECEIVE_TOKEN queue_dir=/var/lib/minio/events queue_limit=100000": Try(
        "cloud"
    ),
    "mc admin service restart ALIAS": Try("cloud"),
    "mc event add ALIAS/photos arn:minio:sqs::thumbsmith:webhook --event put,delete --prefix "
    "images/": Try("cloud"),
    "SERVE_SCREENSHOT=docs/serve.png uv run pytest tests/http/test_serve_browser.py": Try(
        "resolve", "uv run pytest tests/http/test_serve_browser.py --collect-only -q", "chromium"
    ),
}


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command:
                commands.append(command)
    return commands


def test_every_readme_command_has_a_plan() -> None:
    assert set(readme_commands()) == set(PLAN)


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """After the set-up: the environment of a new login shell."""
    link = tmp_path_factory.mktemp("usr-local-bin")
    env = {**os.environ, "BOOTSTRAP_LINK_DIR": str(link)}
    subprocess.run(["bash", "scripts/bootstrap"], cwd=REPO, env=env, check=True)
    assert (link / "uv").exists(), "bootstrap linked no uv"
    home = tmp_path_factory.mktemp("home")
    return {"HOME": str(home), "PATH": f"{link}:/usr/bin:/bin", "BOOTSTRAP_LINK_DIR": str(link)}


def _start(command: str, env: dict[str, str]) -> str:
    """A long-running command: its first line of output, then Ctrl-C, then a clean exit."""
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=REPO,
        env=env,
        text=True,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    first = proc.stdout.readline() if ready else ""
    os.killpg(proc.pid, signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    # Ctrl-C is a clean stop: no traceback, and 0 or the shell's own 130 (128 + SIGINT),
    # which uv reports when the signal reached it too.
    assert proc.returncode in (0, 130), first + rest
    assert "Traceback" not in rest, first + rest
    return first + rest


def test_readme_commands_work_in_a_new_shell(shell: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "photo.heic").write_bytes(jpeg(640, 480))  # formats are sniffed, never named
    (tmp_path / "scan.eps").write_bytes(EPS)
    bucket = Path(shell["HOME"]) / "buckets" / "photos" / "images"
    bucket.mkdir(parents=True)
    (bucket / "a.jpg").write_bytes(jpeg(800, 600))
    assert (
        subprocess.run(["bash", "-c", "command -v uv"], env=shell, capture_output=True).returncode
        == 0
    )

    for readme, plan in PLAN.items():
        if plan.how == "cloud":
            continue  # needs an AWS account and the SAM CLI: docs/deploy.md
        if readme.startswith("./scripts/fuzz") and not (CORPUS / "manifest.json").is_file():
            continue  # needs the corpus, like the fuzz test
        command = (plan.command or readme).format(tmp=tmp_path)
        if plan.how == "start":
            out = _start(command, shell)
        else:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=REPO,
                env=shell,
                text=True,
                timeout=240,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            out = done.stdout
            assert done.returncode == 0, f"{readme!r} -> {command!r}:\n{out}"
        assert "command not found" not in out, f"{readme!r}:\n{out}"
        assert plan.expect in out, f"{readme!r}: {plan.expect!r} not in:\n{out}"
        if readme == "./scripts/demo":
            assert out.rstrip("\n").endswith("uv run thumbsmith serve demo/photos"), out

    assert size_of((tmp_path / "out" / "thumb" / "photo.heic.jpg").read_bytes()) == (160, 120)
    assert (tmp_path / "out" / "large" / "scan.eps.jpg").is_file()
    out_bucket = Path(shell["HOME"]) / "buckets" / "photos-output"
    assert size_of((out_bucket / "medium" / "images" / "a.jpg.jpg").read_bytes()) == (640, 480)
    assert shutil.which("uv", path=shell["PATH"])


def test_without_a_writable_link_dir_bootstrap_says_what_to_add(tmp_path: Path) -> None:
    env = {**os.environ, "BOOTSTRAP_LINK_DIR": str(tmp_path / "not-there")}
    done = subprocess.run(
        ["bash", "scripts/bootstrap"], cwd=REPO, env=env, text=True, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    line = re.search(r'^  export PATH="(.+):\$PATH"$', done.stderr, flags=re.M)
    assert line, done.stderr
    assert (Path(line[1]) / "uv").is_file()
    assert not (tmp_path / "not-there").exists()
