"""processes/assessment.toml: which steps make which assessment facts, the counts, rates, composites,
role scores and grade bands, and how lateness is attributed. Parsed and checked here (deploy and
`gridflow processes validate` call it); engine/assessment computes the figures from it."""
from __future__ import annotations

import hashlib
import re
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from engine.process.policy import OWNERS, PolicyError, read_when_changed

ASSESSMENT_FILE = "assessment.toml"
GROUPINGS = ("street", "community", "grid", "department", "person", "category", "major", "source")
UNITS = ("street", "community", "grid", "none")
AGGREGATES = ("count", "sum", "valued")
# What a fact's value is, by its matcher's `value`: "on_time" 1 when the task was completed by its
# due time (or had none) and 0 when late; "one" always 1; "weight" the [satisfaction] weight of the
# answer in the matcher's `detail` field (no value when the answer has no weight, e.g. 未联系上).
VALUES = ("on_time", "one", "weight")
# Facts the engine writes itself, besides those of [facts]: a late task, a case due to close, a
# resident's report.
ENGINE_FACTS = ("late", "due_to_close", "resident_reported")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_COUNT = re.compile(r"^(count|sum|valued)\(([a-z][a-z0-9_]{0,31})\)$")


@dataclass(frozen=True)
class Matcher:
    event: str | None          # a case event kind, or None for a task completion
    task: str | None           # the BPMN id of the user task
    when: dict[str, Any]
    keep: str                  # "first" or "last"; "all" for engine facts
    person: str                # "actor" or "reporter"
    detail: str | None
    value: str                 # one of VALUES ("on_time" for a task and "one" for an event unless set)

    def matches(self, data: dict) -> bool:
        """Whether a step's data (a completion's form values, an event's data) has the ``when`` values."""
        return all(data.get(k) == v or (isinstance(v, list) and data.get(k) in v) for k, v in self.when.items())


@dataclass(frozen=True)
class Rate:
    name: str
    num: str
    den: str
    minus_parked: bool
    complement: bool
    zh: str


@dataclass(frozen=True)
class Breakdown:
    """A count split by the detail its fact keeps (e.g. 注销 by reason): ``<name>_by`` in a report."""

    name: str       # the count's name
    fact: str
    field: str      # the form field the fact's matchers keep as detail
    zh: str
    en: str


@dataclass(frozen=True)
class Term:
    rate: str
    weight: float
    complement: bool


@dataclass(frozen=True)
class Score:
    name: str
    zh: str
    by: tuple[str, ...]
    role: str | None
    terms: tuple[Term, ...]

    @property
    def full_weight(self) -> float:
        return sum(t.weight for t in self.terms)


@dataclass(frozen=True)
class Definitions:
    """Everything assessment.toml says, checked; ``version`` is the file's content hash (short)."""

    version: str
    facts: dict[str, tuple[Matcher, ...]]
    resident_sources: tuple[str, ...]
    due_sla: str
    settled_by: str
    on_time_by: str
    satisfaction: dict[str, float]
    lateness: dict[str, tuple[str, bool]]      # owner → (unit, counts against the department)
    subtract_parked: bool
    counts: dict[str, tuple[str, str]]        # name → (aggregate, fact)
    rates: dict[str, Rate]
    composites: dict[str, tuple[str, dict[str, float]]]   # name → (zh, rate → weight)
    scores: dict[str, Score]
    grades: tuple[tuple[str, float], ...]     # (grade, minimum), highest first
    viewers: tuple[str, ...]                  # roles that read the figures of their units
    breakdowns: dict[str, Breakdown] = field(default_factory=dict)   # count name → its split by detail
    text: str = field(repr=False, default="")

    def grade(self, score: float | None) -> str | None:
        if score is None:
            return None
        return next((g for g, least in self.grades if score >= least), self.grades[-1][0])

    def matchers_for_event(self, kind: str):
        return [(name, m) for name, ms in self.facts.items() for m in ms if m.event == kind]

    def matchers_for_task(self, bpmn_id: str):
        return [(name, m) for name, ms in self.facts.items() for m in ms if m.task == bpmn_id]

    def describe(self) -> dict[str, Any]:
        """The definitions as a report states them: counts, rates, composites, scores, bands."""
        return {
            "version": self.version,
            "counts": {n: f"{agg}({fact})" for n, (agg, fact) in self.counts.items()},
            "rates": {r.name: {"numerator": r.num, "denominator": r.den + (" - parked" if r.minus_parked and self.subtract_parked else ""),
                               "complement": r.complement, "zh": r.zh} for r in self.rates.values()},
            "composites": {n: {"zh": zh, "weights": w} for n, (zh, w) in self.composites.items()},
            "scores": {s.name: {"zh": s.zh, "by": list(s.by), "role": s.role,
                                "terms": [{"rate": t.rate, "weight": t.weight, "complement": t.complement} for t in s.terms]}
                       for s in self.scores.values()},
            "grades": [{"grade": g, "min": m} for g, m in self.grades],
            "due_to_close": f"cases whose {self.due_sla} deadline falls in the period (an extended case where its new deadline falls)",
            "lateness": {o: {"unit": u, "counts_against_department": d} for o, (u, d) in self.lateness.items()},
            "subtract_parked": self.subtract_parked,
            "satisfaction_weights": dict(self.satisfaction),
            "breakdowns": {b.name: {"by": b.field, "zh": b.zh, "en": b.en} for b in self.breakdowns.values()},
        }


def parse_assessment(text: str, *, roles: tuple[str, ...] = (), tasks: Mapping[str, set[str]] | None = None) -> Definitions:
    """Check assessment.toml's text and return its definitions; ``roles`` and ``tasks`` (the user
    tasks of the diagrams, each with its form's field ids), when given, are what scores, matchers and
    their ``detail`` may name."""
    def fail(key: str, rule: str):
        raise PolicyError(f"{ASSESSMENT_FILE}: {key}: {rule}")

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{ASSESSMENT_FILE}: not valid TOML: {exc}") from None
    facts: dict[str, tuple[Matcher, ...]] = {}
    raw_facts = doc.get("facts")
    if not isinstance(raw_facts, dict) or not raw_facts:
        fail("facts", "must be a table of fact names, each a list of matchers")
    for name, items in raw_facts.items():
        if not _NAME.match(name) or name in ENGINE_FACTS:
            fail(f"facts.{name}", f"must be a snake_case name other than {', '.join(ENGINE_FACTS)}")
        if not isinstance(items, list) or not items:
            fail(f"facts.{name}", "must be a list of matchers")
        matchers = []
        for i, item in enumerate(items):
            where = f"facts.{name}[{i}]"
            if not isinstance(item, dict) or ("event" in item) == ("task" in item):
                fail(where, "needs exactly one of event or task")
            unknown = set(item) - {"event", "task", "when", "keep", "person", "detail", "value"}
            if unknown:
                fail(where, f"unknown key {sorted(unknown)[0]!r}")
            if tasks is not None and "task" in item and item["task"] not in tasks:
                fail(f"{where}.task", f"{item['task']!r} is not a user task of the diagrams")
            when = item.get("when", {})
            if not isinstance(when, dict):
                fail(f"{where}.when", "must be a table of field = value")
            keep, person = item.get("keep", "first"), item.get("person", "actor")
            if keep not in ("first", "last"):
                fail(f"{where}.keep", "must be first or last")
            if person not in ("actor", "reporter"):
                fail(f"{where}.person", "must be actor or reporter")
            detail = item.get("detail")
            if detail is not None and (not isinstance(detail, str) or (
                    tasks is not None and "task" in item and detail not in tasks[item["task"]])):
                fail(f"{where}.detail", f"{detail!r} is not a field of the form of {item.get('task')!r}"
                     if "task" in item else "must name a form field")
            value = item.get("value", "on_time" if "task" in item else "one")
            if value not in VALUES:
                fail(f"{where}.value", f"must be one of {', '.join(VALUES)}")
            if value == "on_time" and "task" not in item:
                fail(f"{where}.value", "on_time needs a task (an event has no due time)")
            if value == "weight" and detail is None:
                fail(f"{where}.value", "weight needs detail (the field whose answer is weighed)")
            matchers.append(Matcher(item.get("event"), item.get("task"), when, keep, person, detail, value))
        facts[name] = tuple(matchers)
    known_facts = set(facts) | set(ENGINE_FACTS)

    sources = doc.get("resident_sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        fail("resident_sources", "must be a list of source codes")
    due = doc.get("due_to_close", {})
    for key in ("sla", "settled_by", "on_time_by"):
        if not isinstance(due.get(key), str):
            fail(f"due_to_close.{key}", "missing")
    for key in ("settled_by", "on_time_by"):
        if due[key] not in facts:
            fail(f"due_to_close.{key}", f"{due[key]!r} is not a fact of [facts]")
    weights = doc.get("satisfaction", {}).get("weights", {})
    if not isinstance(weights, dict) or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in weights.values()):
        fail("satisfaction.weights", "must map answers to weights between 0 and 1")
    lateness = {}
    for owner in OWNERS:
        entry = doc.get("lateness", {}).get(owner)
        if not isinstance(entry, dict) or entry.get("unit") not in UNITS or not isinstance(entry.get("department"), bool):
            fail(f"lateness.{owner}", f"needs unit ({', '.join(UNITS)}) and department (true or false)")
        lateness[owner] = (entry["unit"], entry["department"])
    subtract = doc.get("subtract_parked", False)
    if not isinstance(subtract, bool):
        fail("subtract_parked", "must be true or false")

    counts: dict[str, tuple[str, str]] = {}
    for name, spec in (doc.get("counts") or {}).items():
        match = _COUNT.match(spec) if isinstance(spec, str) else None
        if not _NAME.match(name) or match is None:
            fail(f"counts.{name}", "must be \"count(<fact>)\", \"sum(<fact>)\" or \"valued(<fact>)\"")
        if match.group(2) not in known_facts:
            fail(f"counts.{name}", f"{match.group(2)!r} is not a fact")
        counts[name] = (match.group(1), match.group(2))
    if "parked" not in counts and subtract:
        fail("counts.parked", "needed when subtract_parked is true")
    rates: dict[str, Rate] = {}
    for name, spec in (doc.get("rates") or {}).items():
        if not _NAME.match(name) or name in counts or not isinstance(spec, dict):
            fail(f"rates.{name}", "must be a snake_case name not used by a count, with num and den")
        for key in ("num", "den"):
            if spec.get(key) not in counts:
                fail(f"rates.{name}.{key}", f"{spec.get(key)!r} is not a name of [counts]")
        rates[name] = Rate(name, spec["num"], spec["den"], bool(spec.get("minus_parked", False)),
                           bool(spec.get("complement", False)), str(spec.get("zh", name)))
    composites = {}
    for name, spec in (doc.get("composites") or {}).items():
        w = spec.get("weights") if isinstance(spec, dict) else None
        if not _NAME.match(name) or name in counts or name in rates or not isinstance(w, dict) or not w:
            fail(f"composites.{name}", "must be a new snake_case name with weights = { rate = weight }")
        for rate, weight in w.items():
            if rate not in rates or not isinstance(weight, (int, float)) or weight < 0:
                fail(f"composites.{name}.weights.{rate}", "must name a rate of [rates] with a weight ≥ 0")
        if abs(sum(w.values()) - 1) > 1e-9:
            fail(f"composites.{name}.weights", "must add up to 1")
        composites[name] = (str(spec.get("zh", name)), {k: float(v) for k, v in w.items()})
    scores = {}
    for name, spec in (doc.get("scores") or {}).items():
        where = f"scores.{name}"
        if not _NAME.match(name) or not isinstance(spec, dict):
            fail(where, "must be a snake_case name with by and terms")
        by = spec.get("by")
        if not isinstance(by, list) or not by or any(b not in GROUPINGS for b in by):
            fail(f"{where}.by", f"must list groupings of {', '.join(GROUPINGS)}")
        role = spec.get("role")
        if role is not None and roles and role not in roles:
            fail(f"{where}.role", f"{role!r} is not a role of policy.toml roles.codes")
        terms = []
        for i, term in enumerate(spec.get("terms") or []):
            if not isinstance(term, dict) or term.get("rate") not in rates or not isinstance(term.get("weight"), (int, float)) \
                    or term["weight"] <= 0:
                fail(f"{where}.terms[{i}]", "needs rate (a name of [rates]) and a weight > 0")
            terms.append(Term(term["rate"], float(term["weight"]), bool(term.get("complement", False))))
        if not terms:
            fail(f"{where}.terms", "must list at least one term")
        scores[name] = Score(name, str(spec.get("zh", name)), tuple(by), role, tuple(terms))
    bands = doc.get("grades", {}).get("bands")
    if not isinstance(bands, list) or not bands:
        fail("grades.bands", "must list { grade, min } from the highest")
    grades = []
    for i, band in enumerate(bands):
        if not isinstance(band, dict) or not isinstance(band.get("grade"), str) or not isinstance(band.get("min"), (int, float)):
            fail(f"grades.bands[{i}]", "needs grade and min")
        if grades and band["min"] >= grades[-1][1]:
            fail(f"grades.bands[{i}].min", "must be lower than the band before it")
        grades.append((band["grade"], float(band["min"])))
    viewers = doc.get("viewers")
    if not isinstance(viewers, list) or not viewers or not all(isinstance(v, str) for v in viewers):
        fail("viewers", "must list the roles that read the figures")
    for role in viewers:
        if roles and role not in roles:
            fail("viewers", f"{role!r} is not a role of policy.toml roles.codes")
    breakdowns = {}
    for name, spec in (doc.get("breakdowns") or {}).items():
        where = f"breakdowns.{name}"
        if name not in counts or counts[name][0] != "count":
            fail(where, "must name a count(<fact>) of [counts]")
        if not isinstance(spec, dict) or set(spec) - {"zh", "en"}:
            fail(where, "must be a table with zh and en")
        fact = counts[name][1]
        kept = {m.detail for m in facts.get(fact, ())}
        if len(kept) != 1 or None in kept:
            fail(where, f"every matcher of fact {fact!r} must keep the same detail field")
        breakdowns[name] = Breakdown(name, fact, kept.pop(), str(spec.get("zh", name)), str(spec.get("en", name)))
    version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return Definitions(version, facts, tuple(sources), due["sla"], due["settled_by"], due["on_time_by"],
                       {k: float(v) for k, v in weights.items()}, lateness, subtract, counts, rates, composites,
                       scores, tuple(grades), tuple(viewers), breakdowns, text)


def _parse_file(texts: dict[str, str]) -> Definitions:
    return parse_assessment(texts[ASSESSMENT_FILE])


def load_assessment(folder: str | Path) -> Definitions:
    """Return the definitions of a processes folder, read again only when the file changes."""
    return read_when_changed(folder, (ASSESSMENT_FILE,), _parse_file)


_deployed: dict[str, Definitions] = {}
_lock = threading.Lock()


def definitions_of(files: Mapping[str, str], folder: str | Path) -> Definitions:
    """The definitions deployed in ``files`` (a version's source files), else the folder's."""
    text = files.get(ASSESSMENT_FILE)
    if text is None:
        return load_assessment(folder)
    found = _deployed.get(text)
    if found is None:
        with _lock:
            if len(_deployed) > 32:   # deployed versions are few; this only bounds a long-running process
                _deployed.clear()
            found = _deployed[text] = parse_assessment(text)
    return found
