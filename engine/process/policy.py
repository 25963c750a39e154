"""The designers' rules around the diagram, read from processes/: the stage vocabulary
(stages.toml), the notice texts (notices.toml) and the role policy (policy.toml).

One loader: :func:`parse_policy` checks the three files and :func:`load_policy` caches the
result per processes folder until a file changes. Errors name the file, the key and the rule.
"""
from __future__ import annotations

import os
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from engine.spiff.sandbox import TEMPLATE_FIELD

STAGES_FILE, NOTICES_FILE, POLICY_FILE = "stages.toml", "notices.toml", "policy.toml"
POLICY_FILES = (STAGES_FILE, NOTICES_FILE, POLICY_FILE)
# The channels a case can come from (its `source`); the policy says who may record each.
SOURCES = ("patrol", "hotline", "app", "web", "open311", "referral", "video")
OWNERS = ("centre", "department", "community", "resident", "none")
# Boards a stage's open tasks can be listed on (a stage's `board`).
BOARDS = ("supervision",)
# Notices the engine writes for effects of its own; a diagram's `notify` names any other key.
ENGINE_NOTICES = ("warning", "overdue", "escalated")
# What a membership can sit on: an org unit of one of these levels, or a department.
HOLDING_KINDS = ("city", "district", "street", "community", "grid", "department")
_FALLBACK_PUBLIC = {"zh": "处理中", "en": "In progress"}


class PolicyError(ValueError):
    """A processes/ data file is missing, unreadable or breaks a rule."""


@dataclass(frozen=True)
class Stage:
    code: str
    names: dict[str, str]     # {"zh": ..., "en": ...} as staff see it
    public: dict[str, str]    # plain words for residents
    owner: str
    set_by_engine: bool = False
    board: str | None = None    # open tasks of the stage are listed on this board (督办: "supervision")
    own_clock: bool = False     # its due times and warning/overdue marks never count for the case


@dataclass(frozen=True)
class Level:
    code: str
    rank: int
    roles: tuple[str, ...]
    names: dict[str, str]


@dataclass(frozen=True)
class Policy:
    """Everything the three files say, checked; look-ups never raise."""

    stages: dict[str, Stage]
    expected_completion: str
    new_case_stage: str
    notices: dict[str, dict[str, str]]
    default_locale: str
    roles: tuple[str, ...]
    lanes: dict[str, str]
    assign_roles: tuple[str, ...]
    team_view_roles: tuple[str, ...]
    board_roles: tuple[str, ...]
    admin_roles: tuple[str, ...]
    board_start_roles: tuple[str, ...]
    map_roles: tuple[str, ...]
    channels: dict[str, tuple[str, ...]]
    self_handling_channels: tuple[str, ...]
    self_handling_roles: tuple[str, ...]
    levels: dict[str, Level] = field(default_factory=dict)
    studio_roles: tuple[str, ...] = ("admin",)
    # Where each role may be held: org levels and "department" (policy.toml [roles.held_at]);
    # a role not listed may be held anywhere.
    held_at: dict[str, tuple[str, ...]] = field(default_factory=dict)
    admin_wide_levels: tuple[str, ...] = ("city", "district")

    def may_hold(self, role: str, kind: str) -> bool:
        """Whether a membership of ``role`` may sit on a unit of level ``kind`` (or "department")."""
        allowed = self.held_at.get(role)
        return allowed is None or kind in allowed

    def role_for_lane(self, lane: str | None) -> str | None:
        """Return the role code a lane stands for, or None when the lane is unknown."""
        lane = (lane or "").strip()
        return lane if lane in self.roles else self.lanes.get(lane)

    def administers(self, user) -> bool:
        """Whether ``user`` holds a role of [administer] anywhere."""
        return any(m.role in self.admin_roles for m in user.memberships)

    def starts_on_board(self, user) -> bool:
        """Whether every role ``user`` holds is one of [start].board (and they hold one)."""
        roles = {m.role for m in user.memberships}
        return bool(roles) and roles <= set(self.board_start_roles)

    def board_stages(self, board: str) -> tuple[str, ...]:
        """The stages whose open tasks the board lists (stages.toml ``board``)."""
        return tuple(code for code, stage in self.stages.items() if stage.board == board)

    def own_clock(self, code: str | None) -> bool:
        """Whether a stage keeps its own clock: its due times and marks never count for the case."""
        stage = self.stages.get(code or "")
        return bool(stage and stage.own_clock)

    def stage_name(self, code: str | None, lang: str) -> str:
        stage = self.stages.get(code or "")
        return _pick(stage.names, lang, self.default_locale) if stage else (code or "")

    def public_stage(self, code: str | None, lang: str) -> str:
        stage = self.stages.get(code or "")
        return _pick(stage.public if stage else _FALLBACK_PUBLIC, lang, self.default_locale)

    def level_name(self, code: str | None, lang: str) -> str:
        level = self.levels.get(code or "")
        return _pick(level.names, lang, self.default_locale) if level else (code or "")

    def notice(self, key: str, data: Mapping[str, Any]) -> dict[str, str]:
        """The notice ``key`` in every language, ``{name}`` filled from ``data`` plus the stage's
        and level's names in that language (a missing name gives an empty text)."""
        texts = {}
        for lang, template in self.notices.get(key, {}).items():
            values = dict(data, stage=self.stage_name(data.get("stage"), lang),
                          level=self.level_name(data.get("level"), lang))
            texts[lang] = TEMPLATE_FIELD.sub(lambda m: "" if values.get(m.group(1)) is None
                                             else str(values[m.group(1)]), template)[:500]
        return texts


def _pick(names: Mapping[str, str], lang: str, default: str) -> str:
    return names.get(lang) or names.get(default) or next(iter(names.values()), "")


# ---------------------------------------------------------------- parsing and checking

def parse_policy(files: Mapping[str, str]) -> Policy:
    """Check the three files (name → TOML text) and return the policy they define."""
    raw = {}
    for name in POLICY_FILES:
        if name not in files:
            raise PolicyError(f"{name}: file missing (processes/ needs {', '.join(POLICY_FILES)})")
        try:
            raw[name] = tomllib.loads(files[name])
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{name}: not valid TOML: {exc}") from None
    roles_doc = _Doc(POLICY_FILE, raw[POLICY_FILE])
    roles = roles_doc.names("roles.codes")
    stages, expected, new_case = _stages(_Doc(STAGES_FILE, raw[STAGES_FILE]))
    notices, locale = _notices(_Doc(NOTICES_FILE, raw[NOTICES_FILE]))
    lanes = {}
    for lane, role in roles_doc.table("lanes").items():
        lanes[lane] = roles_doc.role(f"lanes.{lane}", role, roles)
    channels = {}
    for channel, listed in roles_doc.table("report.channels").items():
        if channel not in SOURCES:
            raise PolicyError(f"{POLICY_FILE}: report.channels.{channel}: unknown channel "
                              f"(channels: {', '.join(SOURCES)})")
        channels[channel] = roles_doc.roles(f"report.channels.{channel}", roles)
    self_channels = roles_doc.names("report.self_handling.channels")
    for channel in self_channels:
        if channel not in SOURCES:
            raise PolicyError(f"{POLICY_FILE}: report.self_handling.channels: unknown channel {channel!r}")
    levels = {}
    for code, item in roles_doc.table("escalation.levels").items():
        key = f"escalation.levels.{code}"
        rank = item.get("rank") if isinstance(item, dict) else None
        if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
            raise PolicyError(f"{POLICY_FILE}: {key}.rank: must be a whole number of at least 1")
        levels[code] = Level(code, rank, roles_doc.roles(f"{key}.roles", roles), _names(POLICY_FILE, key, item))
    if not levels:
        raise PolicyError(f"{POLICY_FILE}: escalation.levels: name at least one level")
    ranks = [lv.rank for lv in levels.values()]
    if len(set(ranks)) != len(ranks):
        raise PolicyError(f"{POLICY_FILE}: escalation.levels: every level needs its own rank")
    held_at = {}
    held = roles_doc.data.get("roles", {}).get("held_at", {})
    if not isinstance(held, dict):
        raise PolicyError(f"{POLICY_FILE}: roles.held_at: must be a table")
    for role in held:
        key = f"roles.held_at.{role}"
        roles_doc.role(key, role, roles)
        held_at[role] = roles_doc.names(key)
        for kind in held_at[role]:
            if kind not in HOLDING_KINDS:
                raise PolicyError(f"{POLICY_FILE}: {key}: {kind!r} is not one of {', '.join(HOLDING_KINDS)}")
    # A policy without whole_city_at lets admins of a city or district unit change the district-wide data.
    admin_wide = ("city", "district")
    if "whole_city_at" in roles_doc.data.get("administer", {}):
        admin_wide = roles_doc.names("administer.whole_city_at")
        for level in admin_wide:
            if level not in HOLDING_KINDS[:-1]:
                raise PolicyError(f"{POLICY_FILE}: administer.whole_city_at: {level!r} is not one of "
                                  f"{', '.join(HOLDING_KINDS[:-1])}")
    return Policy(
        stages=stages, expected_completion=expected, new_case_stage=new_case, notices=notices, default_locale=locale,
        roles=roles, lanes=lanes, assign_roles=roles_doc.roles("assign.roles", roles),
        team_view_roles=roles_doc.roles("team_view.roles", roles), board_roles=roles_doc.roles("board.roles", roles),
        # Added after the first versions were deployed: a version's files without them read as
        # nobody administers and everybody starts in the inbox (only the folder's copy is used).
        admin_roles=roles_doc.roles("administer.roles", roles) if "administer" in roles_doc.data else (),
        board_start_roles=roles_doc.roles("start.board", roles) if "start" in roles_doc.data else (),
        # Versions deployed before the map have no [map]: those who see the board.
        map_roles=roles_doc.roles("map.roles", roles) if "map" in roles_doc.data else roles_doc.roles("board.roles", roles),
        channels=channels, self_handling_channels=self_channels,
        self_handling_roles=roles_doc.roles("report.self_handling.roles", roles), levels=levels,
        # Versions deployed before the studio have no [studio]: only admins, as then.
        studio_roles=roles_doc.roles("studio.roles", roles) if "studio" in raw[POLICY_FILE] else ("admin",),
        held_at=held_at, admin_wide_levels=admin_wide)


class _Doc:
    """One parsed file with look-ups that fail naming the file and the dotted key."""

    def __init__(self, name: str, data: dict):
        self.name, self.data = name, data

    def get(self, key: str) -> Any:
        value: Any = self.data
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise PolicyError(f"{self.name}: {key}: missing")
            value = value[part]
        return value

    def table(self, key: str) -> dict:
        value = self.get(key)
        if not isinstance(value, dict):
            raise PolicyError(f"{self.name}: {key}: must be a table")
        return value

    def names(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise PolicyError(f"{self.name}: {key}: must be a list of names")
        return tuple(value)

    def role(self, key: str, value: Any, roles: tuple[str, ...]) -> str:
        if value not in roles:
            raise PolicyError(f"{self.name}: {key}: {value!r} is not a role of roles.codes ({', '.join(roles)})")
        return value

    def roles(self, key: str, roles: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.role(key, r, roles) for r in self.names(key))


def _names(file: str, key: str, item: Any) -> dict[str, str]:
    if not isinstance(item, dict) or not isinstance(item.get("zh"), str) or not isinstance(item.get("en"), str):
        raise PolicyError(f"{file}: {key}: needs zh = \"...\" and en = \"...\"")
    return {"zh": item["zh"], "en": item["en"]}


def _stages(doc: _Doc) -> tuple[dict[str, Stage], str, str]:
    stages = {}
    for code, item in doc.table("stages").items():
        key = f"stages.{code}"
        names = _names(doc.name, key, item)
        public = _names(doc.name, f"{key}.public", item.get("public"))
        if item.get("owner") not in OWNERS:
            raise PolicyError(f"{doc.name}: {key}.owner: must be one of {', '.join(OWNERS)}")
        if item.get("set_by", "engine") != "engine":
            raise PolicyError(f"{doc.name}: {key}.set_by: the only value is \"engine\"")
        board = item.get("board")
        if board is not None and board not in BOARDS:
            raise PolicyError(f"{doc.name}: {key}.board: must be one of {', '.join(BOARDS)}")
        own_clock = item.get("own_clock", False)
        if not isinstance(own_clock, bool):
            raise PolicyError(f"{doc.name}: {key}.own_clock: must be true or false")
        stages[code] = Stage(code, names, public, item["owner"], "set_by" in item, board, own_clock)
    expected = doc.get("expected_completion")
    if expected not in stages:
        raise PolicyError(f"{doc.name}: expected_completion: {expected!r} is not a stage listed here")
    # Versions deployed before new_case was a key: the first stage the engine sets.
    new_case = doc.data.get("new_case") or next((c for c, st in stages.items() if st.set_by_engine), "")
    if new_case not in stages or not stages[new_case].set_by_engine:
        raise PolicyError(f"{doc.name}: new_case: {new_case!r} is not a stage listed here with set_by = \"engine\"")
    return stages, expected, new_case


def _notices(doc: _Doc) -> tuple[dict[str, dict[str, str]], str]:
    locale = doc.get("default_locale")
    notices = {}
    for key, item in doc.data.items():
        if key == "default_locale":
            continue
        notices[key] = _names(doc.name, key, item)
    for key in ENGINE_NOTICES:
        if key not in notices:
            raise PolicyError(f"{doc.name}: {key}: missing (the engine writes it)")
    if locale not in ("zh", "en"):
        raise PolicyError(f"{doc.name}: default_locale: must be zh or en")
    return notices, locale


# ---------------------------------------------------------------- files and the cache

def read_policy_files(folder: str | Path) -> dict[str, str]:
    """The policy files present in ``folder`` (name → text)."""
    folder = Path(folder)
    return {name: (folder / name).read_text(encoding="utf-8") for name in POLICY_FILES if (folder / name).is_file()}


_cache: dict[tuple, tuple[tuple, Any]] = {}
_lock = threading.Lock()


def read_when_changed(folder: str | Path, names: tuple[str, ...], parse: Callable[[dict[str, str]], Any]) -> Any:
    """``parse({name: text})`` of these files of a processes folder, parsed again only when one of
    them changes (policy, assessment and two-way definitions are read on every request)."""
    folder = str(folder)
    try:
        stamp = tuple(os.stat(os.path.join(folder, name)).st_mtime_ns for name in names)
    except OSError as exc:
        raise PolicyError(f"{os.path.basename(exc.filename or '')}: file missing in {folder}") from None
    key = (folder, names, parse)
    with _lock:
        cached = _cache.get(key)
        if cached is None or cached[0] != stamp:
            texts = {name: Path(folder, name).read_text(encoding="utf-8") for name in names}
            cached = (stamp, parse(texts))
            _cache[key] = cached
        return cached[1]


def load_policy(folder: str | Path) -> Policy:
    """Return the policy of a processes folder, read again only when one of its files changes."""
    return read_when_changed(folder, POLICY_FILES, parse_policy)
