"""Designers' drafts: a copy of a deployed version's files, edited in the studio, checked on
the server with every problem pinned to its file and element, and deployed with a note."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from models import ProcessDraft, ProcessVersion, User

from engine.errors import Conflict, InputError, Message, NotFound
from engine.process import deploy as deploying
from engine.process.lint import lint_config
from engine.process.policy import PolicyError
from engine.process.scenarios import is_scenario_file
from engine.process.versions import version_row
from engine.runtime import Runtime

_WORD = re.compile(r"[A-Za-z_][\w.-]*")


@dataclass(frozen=True)
class Problem:
    text: str
    file: str | None      # the file it is in, when the text names an element of one
    element: str | None   # the element's id, for the modeller to pin the problem on


@dataclass(frozen=True)
class DraftCheck:
    problems: list[Problem]
    warnings: list[Problem]


@dataclass(frozen=True)
class DraftView:
    draft: ProcessDraft
    base: ProcessVersion
    current: ProcessVersion
    files: dict[str, str]
    lint: dict  # the .bpmnlintrc the modeller lints with: this draft's own policy files' lists

    @property
    def behind(self) -> bool:
        """Based on an older version than the one new cases start on now."""
        return self.base.version < self.current.version


def start(session: Session, rt: Runtime, user: User, key: str, version: int | None = None) -> ProcessDraft:
    """Open a new draft from a deployed version (the current one by default)."""
    base = version_row(session, key, version) if version else deploying.latest_version(session, key)
    if base is None:
        raise NotFound(Message("{key} has no deployed version", key=key))
    if version is None:
        base = version_row(session, key, base.version)
    moment = rt.clock()
    draft = ProcessDraft(key=key, base_version_id=base.id, files=dict(base.source_files), created_by=user.username,
                         created_at=moment, saved_at=moment)
    session.add(draft)
    session.flush()
    return draft


def view(session: Session, rt: Runtime, draft_id: int) -> DraftView:
    draft = session.scalars(select(ProcessDraft).options(undefer(ProcessDraft.files))
                            .where(ProcessDraft.id == draft_id)).first()
    if draft is None:
        raise NotFound(Message("draft {id} does not exist", id=draft_id))
    base = session.get(ProcessVersion, draft.base_version_id)
    current = deploying.latest_version(session, draft.key)
    files = dict(draft.files)
    try:
        policy = deploying.policy_for(rt, files)
    except PolicyError:
        policy = rt.policy  # the draft's policy files are broken: the check says why
    return DraftView(draft, base, current, files, lint_config(policy))


def save(session: Session, rt: Runtime, draft_id: int, files: dict[str, str]) -> DraftView:
    """Replace files of the draft (only files it has; each must still be well-formed XML or TOML)."""
    current = view(session, rt, draft_id)
    if current.draft.deployed_version_id is not None:
        raise Conflict(Message("draft {id} was deployed already; open a new draft", id=draft_id))
    errors: dict[str, list[str]] = {}
    for name, text in files.items():
        if name not in current.files:
            errors.setdefault(name, []).append(Message("the draft has no file {name}", name=name))
        elif not isinstance(text, str) or not text.strip():
            errors.setdefault(name, []).append(Message("a file cannot be empty"))
        elif name.endswith((".bpmn", ".dmn")):
            try:
                etree.fromstring(text.encode("utf-8"))
            except etree.XMLSyntaxError as exc:
                errors.setdefault(name, []).append(Message("not well-formed XML: {error}", error=str(exc)))
    if errors:
        raise InputError(errors)
    current.draft.files = {**current.files, **files}
    current.draft.saved_at = rt.clock()
    session.flush()
    return view(session, rt, draft_id)


def element_files(files: dict[str, str]) -> dict[str, str]:
    """Element id → file, for every diagram in the draft."""
    found = {}
    for name, text in files.items():
        if name.endswith((".bpmn", ".dmn")):
            try:
                root = etree.fromstring(text.encode("utf-8"))
            except etree.XMLSyntaxError:
                continue
            for el in root.iter():
                if isinstance(el.tag, str) and el.get("id") and not el.get("bpmnElement"):
                    found.setdefault(el.get("id"), name)
    return found


def pinned(texts: list[str], ids: dict[str, str], files: dict[str, str]) -> list[Problem]:
    problems = []
    for text in texts:
        # A scenario file's problem is about that file (the task ids it names are in lists of
        # what it may name), not about an element.
        scenario = text.split(":", 1)[0]
        if scenario in files and is_scenario_file(scenario):
            problems.append(Problem(text, scenario, None))
            continue
        # "grid_case/accept: …" or "grid_case.bpmn: user task accept …": the first word that is
        # an element id of a diagram places the problem; else the first file it names.
        words = [w.rstrip(".:,") for w in _WORD.findall(text)]
        hit = next((w for w in [w.split("/")[-1] for w in text.split(":")[0].split()] + words if w in ids), None)
        file = ids[hit] if hit else next((w for w in words if w in files), None)
        problems.append(Problem(text, file, hit))
    return problems


def check(session: Session, rt: Runtime, draft_id: int) -> DraftCheck:
    """Validate the draft as `gridflow processes validate` would, problems pinned to elements."""
    current = view(session, rt, draft_id)
    report = deploying.check(rt, current.files, required=current.draft.key, session=session)
    ids = element_files(current.files)
    return DraftCheck(pinned(report.problems, ids, current.files), pinned(report.warnings, ids, current.files))


def deploy(session: Session, rt: Runtime, user: User, draft_id: int, note: str,
           behind_seen: bool = False) -> deploying.Deployment:
    """Deploy the draft as a new version with a note, like `gridflow processes deploy`.

    A draft based on an older version than the current one is refused until the designer has
    seen that (``behind_seen``): deploying it would undo the versions in between."""
    current = view(session, rt, draft_id)
    if current.draft.deployed_version_id is not None:
        raise Conflict(Message("draft {id} was deployed already; open a new draft", id=draft_id))
    if not (note or "").strip():
        raise InputError({"note": [Message("say what this version changes")]})
    if current.behind and not behind_seen:
        raise Conflict(Message("this draft is based on version {base}, but version {current} is deployed now: "
                               "what changed in between would be undone", base=current.base.version,
                               current=current.current.version))
    try:
        deployment = deploying.deploy(session, rt, current.files, current.draft.key,
                                      deployed_by=user.username, note=note)
    except deploying.ProcessError as exc:
        raise InputError({"files": [str(exc)]}, Message("the draft cannot be deployed")) from None
    if not deployment.created:
        raise Conflict(Message("the draft does not change version {version}", version=deployment.version.version))
    current.draft.deployed_version_id = deployment.version.id
    session.flush()
    return deployment
