"""Administering users: create them with their memberships, change their names, languages and
roles, deactivate and reactivate them, reset their passwords. Every check the city import makes
on a users or memberships row is made here on the same terms (engine/city/read.py).

A created user, and one whose password was reset, gets an initial code as an imported user does
(engine/access/initial.py): shown once, it works once, for INITIAL_CODE_DAYS, and only to choose
their own password; no password the administrator has seen ever signs anyone in."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Department, Membership, OrgUnit, User

from engine.access.accounts import end_sessions
from engine.access.initial import NO_PASSWORD, InitialCodes, spend_links
from engine.admin.changes import record_change
from engine.admin.problems import raise_problems
from engine.admin.scope import AdminScope, admin_scope
from engine.city.read import City, check_membership, check_user
from engine.city.sheets import Problem, Row
from engine.errors import Conflict, InputError, Message, NotFound
from engine.lifecycle.tasks import release_held_tasks
from engine.runtime import Runtime

MAX_USERS = 500


@dataclass(frozen=True)
class MembershipSpec:
    """A role on an org unit or a department, as a form or the API gives it (codes, not paths)."""

    role: str
    org_unit: str = ""
    department: str = ""


@dataclass
class UserView:
    user: User
    memberships: list[MembershipSpec]
    initial_code: str | None = None        # set only in the answer that created the user
    initial_code_expires_at: datetime | None = None


@dataclass(frozen=True)
class IssuedCode:
    """An initial code as handed out: shown once; it works once, until ``expires_at``."""

    code: str
    expires_at: datetime


def list_users(session: Session, rt: Runtime, actor: User, q: str = "", include_inactive: bool = True) -> list[UserView]:
    """The users the actor manages, by username; ``q`` matches username or name."""
    scope = admin_scope(session, rt, actor)
    query = select(User).order_by(User.username)
    if not scope.top:
        query = query.where(User.id.in_(select(Membership.user_id).where(
            or_(*[Membership.scope_key.startswith(p, autoescape=True) for p in scope.paths]))))
    if q:
        query = query.where(or_(User.username.contains(q, autoescape=True), User.name.contains(q, autoescape=True)))
    if not include_inactive:
        query = query.where(User.active.is_(True))
    codes = _codes_of_paths(session)
    return [_view(u, codes) for u in session.scalars(query.limit(MAX_USERS * 4)) if scope.manages(u)][:MAX_USERS]


def user_detail(session: Session, rt: Runtime, actor: User, username: str) -> UserView:
    scope = admin_scope(session, rt, actor)
    return _view(managed_user(session, scope, username), _codes_of_paths(session))


def create_user(session: Session, rt: Runtime, actor: User, username: str, name: str, locale: str = "zh",
                memberships: list[MembershipSpec] = ()) -> tuple[User, IssuedCode]:
    """Create an active user with these memberships and no password; return them and their
    initial code (shown once), with which they sign in once to choose their password."""
    scope = admin_scope(session, rt, actor)
    problems: list[Problem] = []
    spec = check_user(_row({"username": username or "", "name": name or "", "locale": locale or ""}), problems)
    keys = _check_memberships(session, rt, scope, memberships, problems)
    raise_problems(problems)
    if session.scalar(select(User.id).where(User.username == spec["username"])) is not None:
        raise InputError({"username": [Message("A user named {name} already exists (usernames are unique).",
                                               name=spec["username"])]})
    user = User(username=spec["username"], name=spec["name"], locale=spec["locale"], active=True,
                password_hash=NO_PASSWORD)
    user.memberships = [Membership(role=role, scope_key=key) for role, key in keys]
    session.add(user)
    issued = _issue_code(session, rt, user)
    session.flush()
    record_change(session, rt, actor, "create", "user", user.username, common_path(keys), None, _state(user, keys))
    return user, issued


def update_user(session: Session, rt: Runtime, actor: User, username: str, *, name: str | None = None,
                locale: str | None = None, memberships: list[MembershipSpec] | None = None) -> UserView:
    """Change a user's name, language or (replacing them all) memberships; unchanged parts stay."""
    scope = admin_scope(session, rt, actor)
    user = managed_user(session, scope, username)
    before = _state(user)
    problems: list[Problem] = []
    spec = check_user(_row({"username": user.username, "name": user.name if name is None else name,
                            "locale": user.locale if locale is None else locale}), problems)
    keys = (_check_memberships(session, rt, scope, memberships, problems) if memberships is not None
            else [(m.role, m.scope_key) for m in user.memberships])
    raise_problems(problems)
    user.name, user.locale = spec["name"], spec["locale"]
    if memberships is not None:
        held = {(m.role, m.scope_key): m for m in user.memberships}
        for key in [k for k in held if k not in keys]:
            user.memberships.remove(held[key])
            session.delete(held[key])
        for role, key in [k for k in keys if k not in held]:
            user.memberships.append(Membership(role=role, scope_key=key))
    after = _state(user, keys)
    if after != before:
        session.flush()
        rt.role_cache.clear()
        record_change(session, rt, actor, "update", "user", user.username,
                      common_path([(r, k) for r, k in before["memberships"]] + keys), before, after)
    return _view(user, _codes_of_paths(session))


def set_user_active(session: Session, rt: Runtime, actor: User, username: str, active: bool) -> UserView:
    """Deactivate a user (they can no longer sign in or use their tokens, their page sessions end,
    the open tasks they claimed go back to the pool) or reactivate them."""
    scope = admin_scope(session, rt, actor)
    user = managed_user(session, scope, username)
    if user.id == actor.id and not active:
        raise Conflict(Message("you cannot deactivate your own account"))
    if user.active == active:
        return _view(user, _codes_of_paths(session))
    released = []
    user.active = active
    if not active:
        end_sessions(session, user)
        released = release_held_tasks(session, rt, actor, user, "deactivated")
    keys = [(m.role, m.scope_key) for m in user.memberships]
    new = {"active": active}
    if released:
        new["released_tasks"] = [t.id for t in released]
    record_change(session, rt, actor, "deactivate" if not active else "reactivate", "user", user.username,
                  common_path(keys), {"active": not active}, new)
    session.flush()
    return _view(user, _codes_of_paths(session))


def reset_password(session: Session, rt: Runtime, actor: User, username: str) -> IssuedCode:
    """Take the user's password away and give them a new initial code (returned once): their old
    password, codes and set-password links stop working and their page sessions end."""
    scope = admin_scope(session, rt, actor)
    user = managed_user(session, scope, username)
    if not user.active:
        raise Conflict(Message("{name} is deactivated; reactivate them first", name=user.username))
    user.password_hash = NO_PASSWORD
    spend_links(session, user, rt.clock())
    issued = _issue_code(session, rt, user)
    end_sessions(session, user)
    keys = [(m.role, m.scope_key) for m in user.memberships]
    # The log says that the password changed, never what it is.
    record_change(session, rt, actor, "reset_password", "user", user.username, common_path(keys), None,
                  {"password": "reset"})
    session.flush()
    return issued


# -- internals ---------------------------------------------------------------------------------
def _issue_code(session: Session, rt: Runtime, user: User) -> IssuedCode:
    codes = InitialCodes.from_settings(rt.settings, rt.clock())
    code, link = codes.issue(user)
    session.add(link)
    return IssuedCode(code, codes.expires_at)


def _row(cells: dict[str, str]) -> Row:
    # Problems of a single record name its field; "row 1" stands for the one record sent.
    return Row("form", 1, {k: (v or "").strip() if isinstance(v, str) else "" for k, v in cells.items()})


def managed_user(session: Session, scope: AdminScope, username: str) -> User:
    user = session.scalars(select(User).where(User.username == str(username or ""))).first() \
        if len(str(username or "")) <= 64 else None
    if user is None or not scope.manages(user):
        raise NotFound(Message("no user named {name} in your area", name=str(username)[:64]))
    return user


def _check_memberships(session: Session, rt: Runtime, scope: AdminScope, memberships, problems: list[Problem]
                       ) -> list[tuple[str, str]]:
    """Check each membership as the city import checks a memberships row, and that it lies in the
    actor's scope; return (role, scope key) pairs in the order given."""
    codes = [m.org_unit for m in memberships if m.org_unit]
    units = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes),
                                                                       OrgUnit.active.is_(True)))} if codes else {}
    departments = {d.code for d in session.scalars(select(Department).where(Department.active.is_(True)))}
    city = City(units={c: {"level": u.level} for c, u in units.items()},
                departments={c: {} for c in departments})
    keys: list[tuple[str, str]] = []
    for i, m in enumerate(memberships):
        field = f"memberships.{i}"
        row = Row("form", 1, {"role": m.role or "", "org_unit": m.org_unit or "", "department": m.department or ""})
        found: list[Problem] = []
        kind = check_membership(row, city, rt.policy, found)
        problems.extend(Problem(p.file, p.row, f"{field}.{p.column}", p.rule) for p in found)
        if kind is None or found:
            continue
        key = units[m.org_unit].path if kind[0] == "unit" else f"dept:{m.department}"
        if not scope.covers_key(key):
            column = "org_unit" if kind[0] == "unit" else "department"
            problems.append(Problem("form", 1, f"{field}.{column}",
                                    f"{m.org_unit or m.department} is outside the area you administer"))
        elif (m.role, key) in keys:
            problems.append(Problem("form", 1, f"{field}.role", "the same membership is listed twice"))
        else:
            keys.append((m.role, key))
    return keys


def _codes_of_paths(session: Session) -> dict[str, tuple[str, str]]:
    return {path: (code, level) for path, code, level in session.execute(select(OrgUnit.path, OrgUnit.code,
                                                                                OrgUnit.level))}


def _view(user: User, codes: dict[str, tuple[str, str]]) -> UserView:
    specs = []
    for m in sorted(user.memberships, key=lambda m: (m.scope_key, m.role)):
        if m.scope_key.startswith("dept:"):
            specs.append(MembershipSpec(m.role, department=m.scope_key[5:]))
        else:
            specs.append(MembershipSpec(m.role, org_unit=codes.get(m.scope_key, (m.scope_key,))[0]))
    return UserView(user, specs)


def _state(user: User, keys: list[tuple[str, str]] | None = None) -> dict:
    held = keys if keys is not None else [(m.role, m.scope_key) for m in user.memberships]
    return {"name": user.name, "locale": user.locale, "active": user.active,
            "memberships": sorted([list(k) for k in held])}


def common_path(keys) -> str:
    """The deepest org path every org membership lies under ("" when none, or only departments)."""
    paths = [k for _, k in keys if not k.startswith("dept:")]
    if not paths:
        return ""
    parts = [p.split("/")[:-1] for p in paths]
    common = []
    for segment in zip(*parts):
        if len(set(segment)) != 1:
            break
        common.append(segment[0])
    return "".join(c + "/" for c in common)


@dataclass(frozen=True)
class UserForm:
    """What the user form offers: the user (None when creating), roles, the actor's active units
    and (for an administrator of the whole city) the active departments."""

    view: UserView | None
    roles: tuple[str, ...]
    units: list[OrgUnit]
    departments: list[Department]


def user_form(session: Session, rt: Runtime, actor: User, username: str | None = None) -> UserForm:
    scope = admin_scope(session, rt, actor)
    view = _view(managed_user(session, scope, username), _codes_of_paths(session)) if username is not None else None
    units = [u for u in session.scalars(select(OrgUnit).where(OrgUnit.active.is_(True)).order_by(OrgUnit.path))
             if scope.covers(u.path)]
    departments = list(session.scalars(select(Department).where(Department.active.is_(True))
                                       .order_by(Department.code))) if scope.top else []
    return UserForm(view, rt.policy.roles, units, departments)
