"""The global options (--config, --renditions, -v) work before or after the command and
show in each command's help, and every option says what it is for."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.helpers import jpeg, size_of
from thumbsmith.cli import build_parser

ENV = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}
COMMANDS = ["config", "convert", "backfill", "watch", "serve", "sync", "receive", "worker",
            "package"]  # fmt: skip


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "thumbsmith", *args],
        capture_output=True, text=True, env=ENV, timeout=120, check=False,
    )  # fmt: skip


def test_convert_takes_the_global_options_after_the_command(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(jpeg(800, 600))
    cfg = tmp_path / "t.toml"
    cfg.write_text("quality = 50\n")
    r = run("convert", str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out"),
            "--renditions", "x=100", "--config", str(cfg), "-v")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["manifest", "x"]
    assert size_of((tmp_path / "out" / "x" / "a.jpg.jpg").read_bytes()) == (100, 75)
    assert "DEBUG" in r.stderr  # -v after the command too


@pytest.mark.parametrize(
    ("argv", "renditions", "verbose"),
    [
        (["--renditions", "a=1", "config"], "a=1", False),
        (["config", "--renditions", "b=2", "-v"], "b=2", True),
        (["-v", "--renditions", "a=1", "config", "--renditions", "b=2"], "b=2", True),
        (["config"], None, False),
    ],
)
def test_before_after_or_both_the_last_one_wins(
    argv: list[str], renditions: str | None, verbose: bool
) -> None:
    args = build_parser().parse_args(argv)
    assert (args.renditions, args.verbose, args.config) == (renditions, verbose, None)


def test_config_shows_a_rendition_override_given_after_it() -> None:
    r = run("config", "--renditions", "only=320")
    assert r.returncode == 0, r.stderr
    assert "renditions = 'only=320'    [command line;" in r.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_lists_the_global_options(command: str) -> None:
    r = run(command, "--help")
    assert r.returncode == 0, r.stderr
    for option in ("--config FILE", "--renditions", "-v, --verbose"):
        assert option in r.stdout, (command, r.stdout)


def _parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_option_and_argument_has_help() -> None:
    missing = [
        f"{prog}: {action.option_strings or action.dest}"
        for prog, parser in _parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._VersionAction)
        and not (action.help or "").strip()
    ]
    assert missing == []
    assert {p for p, _ in _parsers(build_parser())} >= {f"thumbsmith {c}" for c in COMMANDS}
