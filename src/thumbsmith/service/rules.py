"""Which renditions a source gets: rules per key prefix.

A source gets the renditions of the rule with the longest ``prefix`` its key starts
with; a source that no rule matches gets every rendition. Compact form
(``THUMBSMITH_RULES``): rules separated by ``;``, each ``PREFIX=NAME+NAME``::

    avatars/=card;products/=large+card

or TOML: ``[[rules]]`` tables with ``prefix = "avatars/"`` and ``renditions = ["card"]``.
Pure data and string handling: the settings parse with it, the processor selects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from thumbsmith.errors import ConfigError

SETTING = "rules"


@dataclass(frozen=True, slots=True)
class Rule:
    prefix: str
    renditions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rules:
    rules: tuple[Rule, ...] = ()

    def match(self, key: str) -> Rule | None:
        """The rule with the longest prefix of ``key``, if any."""
        matching = [r for r in self.rules if key.startswith(r.prefix)]
        return max(matching, key=lambda r: len(r.prefix), default=None)

    def names_for(self, key: str, every: Sequence[str]) -> tuple[str, ...]:
        """The rendition names ``key`` gets, in the order of ``every``."""
        rule = self.match(key)
        if rule is None:
            return tuple(every)
        return tuple(n for n in every if n in rule.renditions)

    @property
    def prefixes(self) -> tuple[str, ...]:
        return tuple(r.prefix for r in self.rules)


def _rule(prefix: Any, names: Any, where: str) -> Rule:
    # ';' separates rules in the compact form, which TOML rules are kept in as well.
    if not isinstance(prefix, str) or prefix.startswith("/") or ";" in prefix:
        raise ConfigError(
            f"setting {SETTING!r}: {where}: prefix {prefix!r} is not a key prefix "
            "(no leading '/', no ';')"
        )
    if isinstance(names, str) or not isinstance(names, list | tuple) or not names:
        raise ConfigError(
            f"setting {SETTING!r}: rule {prefix!r}: renditions {names!r} is not a list of names"
        )
    return Rule(prefix, tuple(str(n).strip() for n in names))


def _checked(rules: list[Rule], names: Iterable[str] | None) -> tuple[Rule, ...]:
    prefixes = [r.prefix for r in rules]
    if len(set(prefixes)) != len(prefixes):
        raise ConfigError(f"setting {SETTING!r}: each prefix once, got {prefixes}")
    if names is not None:
        known = set(names)
        for rule in rules:
            unknown = [n for n in rule.renditions if n not in known]
            if unknown:
                raise ConfigError(
                    f"setting {SETTING!r}: rule {rule.prefix!r}: renditions {unknown} are not "
                    f"defined (known: {sorted(known)})"
                )
    return tuple(rules)


def parse_rules(text: str, names: Iterable[str] | None = None) -> tuple[Rule, ...]:
    """``"avatars/=card;products/=large+card"``; ``names``: the defined renditions."""
    rules = []
    for raw in text.split(";"):
        if not raw.strip():
            continue
        prefix, sep, listed = raw.strip().rpartition("=")
        if not sep:
            raise ConfigError(f"setting {SETTING!r}: {raw!r} is not 'PREFIX=NAME+NAME'")
        rules.append(_rule(prefix, [n for n in listed.split("+") if n.strip()], repr(raw)))
    return _checked(rules, names)


def rules_from_tables(tables: Any, names: Iterable[str] | None = None) -> tuple[Rule, ...]:
    """``[[rules]]`` tables: ``prefix`` and ``renditions``."""
    if not isinstance(tables, list):
        raise ConfigError(f"setting {SETTING!r}: use [[rules]] tables")
    rules = []
    for i, table in enumerate(tables):
        where = f"rule {i + 1}"
        if not isinstance(table, Mapping) or set(table) != {"prefix", "renditions"}:
            raise ConfigError(
                f"setting {SETTING!r}: {where} must have exactly 'prefix' and 'renditions'"
            )
        rules.append(_rule(table["prefix"], table["renditions"], where))
    return _checked(rules, names)


def format_rules(rules: Iterable[Rule]) -> str:
    return ";".join(f"{r.prefix}={'+'.join(r.renditions)}" for r in rules)
