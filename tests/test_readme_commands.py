"""Every command the README and ``docs/*.md`` show works in a new shell after the set-up.

A new shell here is ``env -i`` with a fresh ``HOME`` and the ``PATH`` a new Debian shell
has (``/usr/local/bin:/usr/bin:/bin``), where a temp folder stands in for
``/usr/local/bin`` (scripts/bootstrap links ``uv`` there; BOOTSTRAP_LINK_DIR points it at
the temp folder so the test never touches the machine's own). Nothing of the caller's
environment leaks in: not its PATH (where ``~/.local/bin`` may be), not its HOME.

The commands are those of every ``sh`` block, read as a shell reads them: a line that
ends in a backslash, inside a quote or a here-document goes on. Each is run as written
where that is quick and local, with paths swapped for temp files where it names example
files, until its first line where it runs until Ctrl-C, and only resolved (``--help``,
``--collect-only``) where it is the whole suite, a long run or a made-up bucket. One that
calls ``aws``, ``sam`` or ``mc`` is skipped with the reason (no account, no server here).
Any other command missing from PLAN fails the test, and so does a PLAN entry no page
shows any more.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.helpers import CORPUS, REPO, jpeg, size_of

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 120 60\n0 0 moveto 120 60 lineto stroke\n"
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Files:
    """What the commands work on: example files in ``tmp``, a bucket folder in ``home``."""

    tmp: Path
    home: Path


@dataclass(frozen=True)
class Try:
    how: str  # run | start (until its first line, then Ctrl-C) | resolve | skip
    command: str = ""  # what runs instead of the page's text ({doc}: that text, {tmp})
    expect: str = ""  # in its output
    reason: str = ""  # skip: why it cannot run here
    check: Callable[[Files], None] | None = None  # what it must have made


#: Commands no test machine can run, by the tool they call: skipped with the reason.
NEEDS = {
    "aws": "needs an AWS account and the AWS CLI (docs/deploy.md)",
    "sam": "needs an AWS account and the SAM CLI (tests/deploy checks the template offline)",
    "mc": "needs a MinIO server and its mc client (tests/runners/test_receive.py posts "
    "MinIO's bodies)",
}
_TOOL = re.compile(r"(?:^|[;&|({]\s*|\$\(\s*)(aws|sam|mc)\s")


def _heic_converted(files: Files) -> None:
    assert size_of((files.tmp / "out" / "thumb" / "photo.heic.jpg").read_bytes()) == (160, 120)
    assert (files.tmp / "out" / "large" / "scan.eps.jpg").is_file()


def _backfilled(files: Files) -> None:
    out_bucket = files.home / "buckets" / "photos-output"
    assert size_of((out_bucket / "medium" / "images" / "a.jpg.jpg").read_bytes()) == (640, 480)


def _webp_added(files: Files) -> None:
    assert size_of((files.tmp / "out" / "large" / "photo.jpg.webp").read_bytes()) == (1280, 800)


#: docs/deploy.md's S3 Batch manifest step, fed the key list the aws command would write.
BATCH_CSV = """python3 - <<'EOF' > images.csv
import json, urllib.parse
for key in json.load(open("keys.json")) or []:
    print("BUCKET," + urllib.parse.quote(key, safe="/"))
EOF"""

RENDITIONS_1 = (
    'THUMBSMITH_RENDITIONS="large=1280:avif+webp+jpeg,card=400x300:cover:attention:webp+jpeg,'
    'thumb=160"'
)
RENDITIONS_2 = (
    'THUMBSMITH_RENDITIONS="hero=1920x600:cover:entropy:avif@45+jpeg,logo=256:contain:png,'
    'clip=480:webp:animated"'
)
RECEIVE = (
    "THUMBSMITH_RECEIVE_TOKEN=$(openssl rand -hex 24) uv run thumbsmith receive --listen "
    "127.0.0.1:8780"
)

ORIGIN_SIGN = (
    "THUMBSMITH_ORIGIN_SIGNING_KEYS=$(openssl rand -hex 32) uv run thumbsmith sign "
    "'http://127.0.0.1:8090/img/images/cat.jpg?w=640&f=webp' --expires 3600"
)

PLAN: dict[str, Try] = {
    # README.md
    "./scripts/demo": Try("run", expect="  uv run thumbsmith serve demo/photos\n"),
    "./scripts/test": Try("resolve", "bash -n scripts/test && test -x scripts/test"),
    "uv run thumbsmith serve demo/photos": Try(
        "start", "uv run thumbsmith serve demo/photos --port 0", " at http://127.0.0.1:"
    ),
    "uv run thumbsmith convert photo.jpg -o out/": Try(
        "run", "uv run thumbsmith convert {tmp}/photo.jpg -o {tmp}/out/", "160x100"
    ),
    'THUMBSMITH_RENDITIONS="large=1280:webp+jpeg,thumb=160" uv run thumbsmith convert '
    "photo.jpg -o out/": Try(
        "run",
        'THUMBSMITH_RENDITIONS="large=1280:webp+jpeg,thumb=160" uv run thumbsmith convert '
        "{tmp}/photo.jpg -o {tmp}/out/",
        "photo.jpg.webp  1280x800",
        check=_webp_added,
    ),
    # docs/events.md
    "uv run thumbsmith convert photo.heic scan.eps -o out/": Try(
        "run",
        "uv run thumbsmith convert {tmp}/photo.heic {tmp}/scan.eps -o {tmp}/out/",
        "160x120",
        check=_heic_converted,
    ),
    "uv run thumbsmith backfill ~/buckets/photos --prefix images/": Try(
        "run", expect="written", check=_backfilled
    ),
    "uv run thumbsmith watch ~/buckets/photos": Try("start", expect="watching "),
    # docs/settings.md (generated) and docs/renditions.md
    'THUMBSMITH_RENDITIONS="large=1280,medium=640,thumb=160x160" THUMBSMITH_QUALITY=80 '
    "uv run thumbsmith config": Try("run", expect="quality = 80"),
    # Example values of a setting: they must parse, so `config` is run with each.
    RENDITIONS_1: Try("run", f"{RENDITIONS_1} uv run thumbsmith config", "card: 400x300 cover"),
    RENDITIONS_2: Try("run", f"{RENDITIONS_2} uv run thumbsmith config", "hero: 1920x600 cover"),
    # docs/s3-compatible.md: the exports run as written; the rest needs a store.
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
    RECEIVE: Try(
        "start",
        RECEIVE.replace("127.0.0.1:8780", "127.0.0.1:0 --workers 1"),
        "listening on http://127.0.0.1:",
    ),
    # docs/origin.md
    "uv run thumbsmith origin ~/buckets/photos": Try(
        "start",
        "uv run thumbsmith origin ~/buckets/photos --listen 127.0.0.1:0 --workers 1",
        " at http://127.0.0.1:",
    ),
    ORIGIN_SIGN: Try("run", expect="/img/images/cat.jpg?exp="),
    # docs/deploy-ondemand.md: the same, for a CloudFront domain
    "THUMBSMITH_ORIGIN_SIGNING_KEYS=$(openssl rand -hex 32) uv run thumbsmith sign "
    '"https://d111111abcdef8.cloudfront.net/img/images/cat.jpg?w=640&h=480&fit=cover&f=auto" '
    "--expires 86400": Try("run", expect="cloudfront.net/img/images/cat.jpg?exp="),
    # docs/reliability.md and docs/development.md
    "./scripts/fuzz": Try("run", "./scripts/fuzz --count 20 --jobs 1"),
    "uv run pytest tests/reliability --runslow -k 2000 -s": Try(
        "resolve", "uv run pytest tests/reliability --runslow -k 2000 --collect-only -q", "2000"
    ),
    "uv run pytest tests/core -q": Try(
        "resolve", "uv run pytest tests/core -q --collect-only", "tests/core/"
    ),
    'uv run pytest tests/service -m "not moto" -q': Try(
        "resolve",
        'uv run pytest tests/service -m "not moto" -q --collect-only',
        "tests/service/test_manifest.py",
    ),
    "uv run pytest --runslow": Try("resolve", "uv run pytest --version"),
    "uv run lint-imports": Try("run", expect="0 broken"),
    "SERVE_SCREENSHOT=docs/serve.png uv run pytest tests/http/test_serve_browser.py": Try(
        "resolve", "uv run pytest tests/http/test_serve_browser.py --collect-only -q", "chromium"
    ),
    # docs/deploy.md: what does not need an account is checked here.
    "uv run thumbsmith package --arch x86_64 --python 3.12 -o dist/": Try(
        "resolve", "uv run thumbsmith package --help", "--include-boto3"
    ),
    "uv run thumbsmith package --arch arm64 -o dist/": Try(
        "resolve", "uv run thumbsmith package --help", "arm64"
    ),
    "cd deploy": Try("run"),
    "THUMBSMITH_RENDITIONS='large=1280,medium=640,thumb=160' uv run thumbsmith backfill "
    "s3://BUCKET/images/": Try(
        "resolve",
        "THUMBSMITH_RENDITIONS='large=1280,medium=640,thumb=160' uv run thumbsmith config",
        "medium: 640x640 inside, jpeg",
    ),
    'uv run thumbsmith backfill s3://BUCKET/images/ --enqueue "$QUEUE_URL"': Try(
        "resolve", "uv run thumbsmith backfill --help", "--enqueue"
    ),
    # docs/deploy-ondemand.md
    "uv run python bench/ondemand_cost.py --render-ms 350": Try("run", expect="90% hits"),
    "node tests/node/build_edge.mjs --check": Try("run", expect="viewer-request.min.js: "),
    BATCH_CSV: Try(
        "run",
        'cd {tmp} && echo \'["images/red flower.jpg", "images/a+b.jpg"]\' > keys.json\n'
        "{doc}\ncat images.csv",
        "BUCKET,images/red%20flower.jpg\nBUCKET,images/a%2Bb.jpg\n",
    ),
}


@dataclass(frozen=True)
class Shown:
    """One command as a page shows it: its text, and where (``docs/x.md:12``)."""

    text: str
    where: str

    @property
    def key(self) -> str:
        """The text with each backslash-newline (and the indent after it) read as a space."""
        return re.sub(r"\s*\\\n\s*", " ", self.text)


_FENCE = re.compile(r"^([ \t]*)```(?:sh|bash|shell)\n(.*?)^\1```", flags=re.S | re.M)
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")


def _code(line: str, quote: str) -> tuple[str, str]:
    """``line`` without its comment, and the quote still open at its end ("" for none)."""
    i = 0
    while i < len(line):
        c = line[i]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\":
            i += 1  # the next character is escaped, in double quotes as outside
        elif quote == '"':
            quote = "" if c == '"' else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), quote
        i += 1
    return line.rstrip(), quote


def block_commands(block: str) -> list[tuple[int, str]]:
    """The commands of one ``sh`` block, each with the index of its first line."""
    commands: list[tuple[int, str]] = []
    lines: list[str] = []
    quote = heredoc = ""
    first = 0
    for number, line in enumerate(block.splitlines()):
        if not lines:
            first = number
        if heredoc:
            lines.append(line)
            if line.strip() != heredoc:
                continue
            heredoc = ""
        else:
            text, quote = _code(line, quote)
            lines.append(text)
            if quote or text.endswith("\\"):
                continue
            opened = _HEREDOC.search(text)
            if opened:
                heredoc = opened[2]
                continue
        command = "\n".join(lines).strip()
        lines = []
        if command:
            commands.append((first, command))
    assert not lines, f"an unfinished command: {lines}"
    return commands


def page_commands() -> list[Shown]:
    """Every command of every page, once (where it is first shown), in page order."""
    shown: dict[str, Shown] = {}
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for fence in _FENCE.finditer(text):
            indent, block = fence[1], fence[2]
            block = "\n".join(line.removeprefix(indent) for line in block.splitlines())
            start = text.count("\n", 0, fence.start(2)) + 1
            for index, command in block_commands(block):
                where = f"{page.relative_to(REPO)}:{start + index}"
                item = Shown(command, where)
                shown.setdefault(item.key, item)
    return list(shown.values())


def plan_for(key: str) -> Try | None:
    if key in PLAN:
        return PLAN[key]
    tool = _TOOL.search(key)
    return Try("skip", reason=NEEDS[tool[1]]) if tool else None


COMMANDS = page_commands()


def test_block_commands_read_as_a_shell_reads_them() -> None:
    block = (
        "a --x 1   # a comment\n"
        "b 'not # a comment' \\\n"
        "  --y\n"
        'c \'{"k": 1,\n'
        '   "l": 2}\'\n'
        "d <<'EOF' > out\n"
        "# not a comment\n"
        "EOF\n"
        "\n"
        "e\n"
    )
    assert block_commands(block) == [
        (0, "a --x 1"),
        (1, "b 'not # a comment' \\\n  --y"),
        (3, 'c \'{"k": 1,\n   "l": 2}\''),
        (5, "d <<'EOF' > out\n# not a comment\nEOF"),
        (9, "e"),
    ]
    assert Shown("b \\\n  --y", "x").key == "b --y"
    assert plan_for("(cd deploy && sam deploy)") == Try("skip", reason=NEEDS["sam"])
    assert plan_for("X=$(aws sts get-caller-identity)") == Try("skip", reason=NEEDS["aws"])
    assert plan_for("uv run thumbsmith samples") is None


def test_every_command_has_a_plan_and_every_plan_a_command() -> None:
    unplanned = [f"{c.where}: {c.key!r}" for c in COMMANDS if plan_for(c.key) is None]
    assert not unplanned, "no plan in PLAN for:\n" + "\n".join(unplanned)
    stale = set(PLAN) - {c.key for c in COMMANDS}
    assert not stale, f"in PLAN but on no page: {sorted(stale)}"
    assert {p.name for p in PAGES} >= {"README.md", "settings.md", "deploy.md"}


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """After the set-up: the environment of a new login shell."""
    link = tmp_path_factory.mktemp("usr-local-bin")
    env = {**os.environ, "BOOTSTRAP_LINK_DIR": str(link)}
    subprocess.run(["bash", "scripts/bootstrap"], cwd=REPO, env=env, check=True)
    assert (link / "uv").exists(), "bootstrap linked no uv"
    home = tmp_path_factory.mktemp("home")
    env = {"HOME": str(home), "PATH": f"{link}:/usr/bin:/bin", "BOOTSTRAP_LINK_DIR": str(link)}
    assert shutil.which("uv", path=env["PATH"])
    return env


@pytest.fixture(scope="module")
def files(shell: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Files:
    tmp = tmp_path_factory.mktemp("files")
    (tmp / "photo.heic").write_bytes(jpeg(640, 480))  # formats are sniffed, never named
    (tmp / "photo.jpg").write_bytes(jpeg(1600, 1000))
    (tmp / "scan.eps").write_bytes(EPS)
    home = Path(shell["HOME"])
    bucket = home / "buckets" / "photos" / "images"
    bucket.mkdir(parents=True)
    (bucket / "a.jpg").write_bytes(jpeg(800, 600))
    return Files(tmp, home)


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


@pytest.mark.parametrize("shown", COMMANDS, ids=lambda c: c.where)
def test_command_works_in_a_new_shell(shown: Shown, shell: dict[str, str], files: Files) -> None:
    plan = plan_for(shown.key)
    assert plan is not None, f"{shown.where}: no plan for {shown.key!r}"
    if plan.how == "skip":
        pytest.skip(plan.reason)
    if shown.key == "./scripts/fuzz" and not (CORPUS / "manifest.json").is_file():
        pytest.skip("needs the corpus at ../shared/corpus, like the fuzz test")
    command = (plan.command or shown.text).replace("{doc}", shown.text)
    command = command.replace("{tmp}", str(files.tmp))
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
        assert done.returncode == 0, f"{shown.key!r} -> {command!r}:\n{out}"
    assert "command not found" not in out, f"{shown.key!r}:\n{out}"
    assert plan.expect in out, f"{shown.key!r}: {plan.expect!r} not in:\n{out}"
    if shown.key == "./scripts/demo":
        assert out.rstrip("\n").endswith("uv run thumbsmith serve demo/photos"), out
    if plan.check is not None:
        plan.check(files)


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
