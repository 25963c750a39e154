"""processes/assessment.toml's [two_way] and [rounds]: the community's rating task and its fields,
the points of each choice, who sees the figures, who opens and scores rounds, and the round items.
Read from the processes folder at once when the file changes; checked by `gridflow processes validate`."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from engine.process.policy import PolicyError, read_when_changed

TWO_WAY_FILE = "assessment.toml"
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class RoundItem:
    key: str
    zh: str
    en: str
    weight: float
    max: float

    def as_dict(self) -> dict:
        return {"key": self.key, "zh": self.zh, "en": self.en, "weight": self.weight, "max": self.max}


@dataclass(frozen=True)
class TwoWay:
    task: str
    rating_field: str
    reason_field: str
    points: dict[str, float]
    viewers: tuple[str, ...]
    open_roles: tuple[str, ...]
    score_roles: tuple[str, ...]
    items: tuple[RoundItem, ...]


def parse_two_way(text: str, *, roles: tuple[str, ...] = (), tasks: dict[str, set[str]] | None = None) -> TwoWay:
    """Check the two sections and return them; ``tasks`` maps user-task ids to their form fields,
    ``roles`` are the role codes, when known (validate passes them)."""
    def fail(key: str, rule: str):
        raise PolicyError(f"{TWO_WAY_FILE}: {key}: {rule}")

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{TWO_WAY_FILE}: not valid TOML: {exc}") from None
    two, rounds = doc.get("two_way"), doc.get("rounds")
    if not isinstance(two, dict):
        fail("two_way", "must be a table")
    if not isinstance(rounds, dict):
        fail("rounds", "must be a table")
    for key in ("task", "rating_field", "reason_field"):
        if not isinstance(two.get(key), str) or not two[key]:
            fail(f"two_way.{key}", "must be a non-empty string")
    if tasks is not None:
        if two["task"] not in tasks:
            fail("two_way.task", f"{two['task']!r} is not a user task of the diagrams")
        for key in ("rating_field", "reason_field"):
            if two[key] not in tasks[two["task"]]:
                fail(f"two_way.{key}", f"{two[key]!r} is not a form field of {two['task']}")
    points = two.get("points")
    if not isinstance(points, dict) or not points:
        fail("two_way.points", "must be a table of choice = points")
    for choice, value in points.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            fail(f"two_way.points.{choice}", "must be a number from 0 to 1")

    def role_list(where: str, value) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
            fail(where, "must be a non-empty list of role codes")
        for role in value:
            if roles and role not in roles:
                fail(where, f"{role!r} is not a role of policy.toml roles.codes")
        return tuple(value)

    items, seen = [], set()
    raw_items = rounds.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        fail("rounds.items", "must list at least one item")
    for i, item in enumerate(raw_items):
        where = f"rounds.items[{i}]"
        if not isinstance(item, dict):
            fail(where, "must be a table")
        unknown = set(item) - {"key", "zh", "en", "weight", "max"}
        if unknown:
            fail(where, f"unknown key {sorted(unknown)[0]!r}")
        key = item.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            fail(f"{where}.key", "must be a snake_case name")
        if key in seen:
            fail(f"{where}.key", f"{key!r} is listed twice")
        seen.add(key)
        for name in ("zh", "en"):
            if not isinstance(item.get(name), str) or not item[name].strip():
                fail(f"{where}.{name}", "must be a non-empty text")
        for name in ("weight", "max"):
            value = item.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                fail(f"{where}.{name}", "must be a number above 0")
        items.append(RoundItem(key, item["zh"], item["en"], float(item["weight"]), float(item["max"])))
    return TwoWay(task=two["task"], rating_field=two["rating_field"], reason_field=two["reason_field"],
                  points={k: float(v) for k, v in points.items()},
                  viewers=role_list("two_way.viewers", two.get("viewers")),
                  open_roles=role_list("rounds.open_roles", rounds.get("open_roles")),
                  score_roles=role_list("rounds.score_roles", rounds.get("score_roles")), items=tuple(items))


def _parse_file(texts: dict[str, str]) -> TwoWay:
    return parse_two_way(texts[TWO_WAY_FILE])


def load_two_way(folder: str | Path) -> TwoWay:
    """Return the two-way sections of the processes folder's assessment.toml, re-read when it changes."""
    return read_when_changed(folder, (TWO_WAY_FILE,), _parse_file)
