"""Settings flagged ``secret`` are never printed: not by ``thumbsmith config`` (text,
--json, --markdown), not in a settings repr, not in a configuration error."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from thumbsmith import cli
from thumbsmith import settings as S

SECRET = "whsec-NEVER-PRINT-4242"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("THUMBSMITH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("THUMBSMITH_NOTIFY_WEBHOOK_SECRET", SECRET)


@pytest.mark.parametrize("flags", [[], ["--json"], ["--markdown"]])
def test_config_never_prints_a_secret(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config", *flags]) == 0
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    if flags == ["--json"]:
        row = next(r for r in json.loads(out.out) if r["name"] == "notify_webhook_secret")
        assert (row["value"], row["source"]) == ("'<hidden>'", "env")
    elif not flags:
        assert "notify_webhook_secret = '<hidden>'" in out.out


def test_an_unset_secret_shows_as_empty(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("THUMBSMITH_NOTIFY_WEBHOOK_SECRET")
    cli.main(["config"])
    assert "notify_webhook_secret = ''" in capsys.readouterr().out


def test_repr_and_errors_leave_secrets_out() -> None:
    settings = S.load()
    assert settings.notify_webhook_secret == SECRET  # the value itself is there to use
    assert SECRET not in repr(settings)
    field = next(f for f in S.fields() if f.name == "notify_webhook_secret")
    assert S.is_secret(field) and not S.is_secret(next(iter(S.fields())))
    assert S.shown(field, SECRET) == "'<hidden>'"


def test_secret_flag_is_generic() -> None:
    """Any setting declared with secret=True gets the same treatment."""

    @dataclasses.dataclass(frozen=True)
    class Demo:
        token: str = S.setting("", "A token.", group="x", secret=True)
        plain: str = S.setting("", "Not secret.", group="x")

    token, plain = dataclasses.fields(Demo)
    assert S.shown(token, "abc") == "'<hidden>'" and S.shown(plain, "abc") == "'abc'"
    assert "abc" not in repr(Demo(token="abc"))


def test_the_settings_doc_says_what_config_shows(capsys: pytest.CaptureFixture[str]) -> None:
    """How a set secret shows is said once, in docs/settings.md (generated from the
    module), and it is what ``thumbsmith config`` prints; every other page links there."""
    assert cli.main(["config"]) == 0
    prefix = "notify_webhook_secret = "
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(prefix))
    marker = line.removeprefix(prefix).split("    [")[0]
    assert marker not in ("", "''") and SECRET not in marker
    assert f"shows `{marker}` for one that is set" in (REPO / "docs" / "settings.md").read_text()
    for page in [REPO / "README.md", *(REPO / "docs").glob("*.md")]:
        if page.name != "settings.md":
            text = page.read_text(encoding="utf-8")
            assert marker not in text and "'***'" not in text, page
