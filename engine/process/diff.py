"""What changed between two sets of process files, in the designer's terms: tasks, gateways,
timers and forms of the BPMN, rules of the decision tables (as rows), other files as a whole."""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy.orm import Session

from engine.process.versions import version_files

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
TASKS = ("userTask", "scriptTask", "businessRuleTask", "receiveTask", "serviceTask", "sendTask",
         "manualTask", "task", "callActivity", "subProcess")
GATEWAYS = ("exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway")
TIMER_DEFINITIONS = ("timeDate", "timeDuration", "timeCycle")
KINDS = ("task", "gateway", "timer", "form", "event", "flow", "file")


@dataclass(frozen=True)
class Change:
    kind: str              # task, gateway, timer, form, flow, rule, file
    change: str            # added, removed, changed
    file: str
    element: str           # element id (a rule's id for a rule)
    name: str
    details: tuple[tuple[str, str, str], ...] = ()   # (aspect, before, after)


@dataclass(frozen=True)
class RuleRow:
    id: str
    cells: tuple[str, ...]


@dataclass
class DecisionChanges:
    file: str
    decision: str
    name: str
    columns: tuple[str, ...]                            # input labels, then output labels
    added: list[RuleRow] = field(default_factory=list)
    removed: list[RuleRow] = field(default_factory=list)
    changed: list[tuple[RuleRow, RuleRow]] = field(default_factory=list)


@dataclass
class VersionDiff:
    changes: list[Change]
    decisions: list[DecisionChanges]

    @property
    def empty(self) -> bool:
        return not self.changes and not any(d.added or d.removed or d.changed for d in self.decisions)


def compare_versions(session: Session, key: str, a: int, b: int) -> VersionDiff:
    """The changes from deployed version ``a`` of ``key`` to version ``b``."""
    return diff_files(version_files(session, key, a), version_files(session, key, b))


def diff_files(old: dict[str, str], new: dict[str, str]) -> VersionDiff:
    """Describe the changes from ``old`` to ``new`` (file name → text)."""
    changes: list[Change] = []
    decisions: list[DecisionChanges] = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if before is None or after is None or not name.endswith((".bpmn", ".dmn")):
            changes.append(Change("file", "added" if before is None else "removed" if after is None else "changed",
                                  name, name, name))
            continue
        if name.endswith(".bpmn"):
            changes += _bpmn_changes(name, _root(before), _root(after))
        else:
            decisions += _dmn_changes(name, _root(before), _root(after))
    changes.sort(key=lambda c: KINDS.index(c.kind))  # stable: within a kind, the files' order
    return VersionDiff(changes, [d for d in decisions if d.added or d.removed or d.changed])


def _root(text: str):
    return etree.fromstring(text.encode("utf-8"))


def _local(el) -> str:
    return etree.QName(el).localname


def _properties(el) -> dict[str, str]:
    return {p.get("name"): p.get("value") or "" for p in el.iterfind(f"./{{{BPMN}}}extensionElements/"
                                                                       f"{{{CAMUNDA}}}properties/{{{CAMUNDA}}}property")}


def _script(el) -> str:
    script = el.find(f"{{{BPMN}}}script")
    return (script.text or "").strip() if script is not None else ""


def _timer(el) -> str:
    for definition in el.iterfind(f"{{{BPMN}}}timerEventDefinition"):
        for child in definition:
            if _local(child) in TIMER_DEFINITIONS:
                return f"{_local(child)}: {(child.text or '').strip()}"
    return ""


def _describe(el) -> dict[str, str]:
    """The aspects of an element a designer changes, as texts to compare."""
    aspects = {"name": el.get("name") or ""}
    kind = _local(el)
    aspects.update({f"property {k}": v for k, v in _properties(el).items()})
    if kind == "scriptTask":
        aspects["script"] = _script(el)
    if kind == "businessRuleTask":
        aspects["decision"] = el.get(f"{{{CAMUNDA}}}decisionRef") or ""
    if kind == "boundaryEvent":
        aspects["attached to"] = el.get("attachedToRef") or ""
        aspects["interrupting"] = el.get("cancelActivity", "true")
    if kind in GATEWAYS:
        aspects["default flow"] = el.get("default") or ""
    timer = _timer(el)
    if timer:
        aspects["timer"] = timer
    return aspects


def _form(el) -> dict[str, str]:
    fields = {}
    for f in el.iterfind(f".//{{{CAMUNDA}}}formField"):
        constraints = ", ".join(f"{c.get('name')}{'=' + c.get('config') if c.get('config') else ''}"
                                for c in f.iterfind(f".//{{{CAMUNDA}}}constraint"))
        options = ", ".join(v.get("id") for v in f.iterfind(f"{{{CAMUNDA}}}value"))
        props = ", ".join(f"{p.get('id')}={p.get('value')}" for p in f.iterfind(f".//{{{CAMUNDA}}}property"))
        fields[f.get("id")] = "; ".join(part for part in (
            f"{f.get('label') or ''} ({f.get('type') or ''})", constraints and f"rules {constraints}",
            options and f"choices {options}", f.get("defaultValue") and f"default {f.get('defaultValue')}",
            props and f"properties {props}") if part)
    return fields


def _kind(el) -> str | None:
    kind = _local(el)
    if kind in TASKS:
        return "task"
    if kind in GATEWAYS:
        return "gateway"
    if kind in ("boundaryEvent", "intermediateCatchEvent", "startEvent") and _timer(el):
        return "timer"
    if kind in ("intermediateThrowEvent", "boundaryEvent", "intermediateCatchEvent", "startEvent", "endEvent"):
        return "event"
    if kind == "sequenceFlow":
        return "flow"
    return None


def _elements(root) -> dict[str, tuple[str, object]]:
    found = {}
    for process in root.iter(f"{{{BPMN}}}process"):
        for el in process.iter():
            if isinstance(el.tag, str) and el.get("id") and etree.QName(el).namespace == BPMN:
                kind = _kind(el)
                if kind:
                    found[el.get("id")] = (kind, el)
    return found


def _flow_aspects(el) -> dict[str, str]:
    condition = el.find(f"{{{BPMN}}}conditionExpression")
    return {"name": el.get("name") or "", "from": el.get("sourceRef") or "", "to": el.get("targetRef") or "",
            "condition": (condition.text or "").strip() if condition is not None else ""}


def _bpmn_changes(file: str, old_root, new_root) -> list[Change]:
    old, new = _elements(old_root), _elements(new_root)
    changes = []
    for eid in sorted(set(old) | set(new), key=lambda i: (i not in new, i)):
        if eid not in old or eid not in new:
            kind, el = new.get(eid) or old[eid]
            changes.append(Change(kind, "added" if eid not in old else "removed", file, eid, el.get("name") or ""))
            if kind == "task" and _form(el):
                changes.append(Change("form", "added" if eid not in old else "removed", file, eid,
                                      el.get("name") or "", tuple((f, "", d) if eid not in old else (f, d, "")
                                                                  for f, d in _form(el).items())))
            continue
        (kind, a), (_, b) = old[eid], new[eid]
        describe = _flow_aspects if kind == "flow" else _describe
        before, after = describe(a), describe(b)
        details = tuple((k, before.get(k, ""), after.get(k, "")) for k in sorted(set(before) | set(after))
                        if before.get(k, "") != after.get(k, ""))
        if details:
            changes.append(Change(kind, "changed", file, eid, b.get("name") or a.get("name") or "", details))
        form_a, form_b = _form(a), _form(b)
        if form_a != form_b:
            fields = tuple((f, form_a.get(f, ""), form_b.get(f, "")) for f in sorted(set(form_a) | set(form_b))
                           if form_a.get(f, "") != form_b.get(f, ""))
            changes.append(Change("form", "changed", file, eid, b.get("name") or "", fields))
    return changes


def _text(el) -> str:
    text = el.find("{*}text")
    return (text.text or "").strip() if text is not None else ""


def _dmn_changes(file: str, old_root, new_root) -> list[DecisionChanges]:
    def tables(root):
        found = {}
        for decision in root.iter("{*}decision"):
            table = decision.find("{*}decisionTable")
            if table is None:
                continue
            columns = tuple([i.get("label") or _text(i.find("{*}inputExpression")) for i in table.iterfind("{*}input")]
                            + [o.get("label") or o.get("name") or "" for o in table.iterfind("{*}output")])
            rules = {}
            for rule in table.iterfind("{*}rule"):
                cells = tuple(_text(c) for c in rule if _local(c) in ("inputEntry", "outputEntry"))
                description = rule.find("{*}description")
                rules[rule.get("id")] = RuleRow(rule.get("id"), cells + (
                    ((description.text or "").strip(),) if description is not None else ("",)))
            found[decision.get("id")] = (decision.get("name") or decision.get("id"), columns, rules)
        return found

    old, new = tables(old_root), tables(new_root)
    result = []
    for did in sorted(set(old) | set(new)):
        name, columns, rules_b = new.get(did) or old[did]
        rules_a = old.get(did, ("", (), {}))[2]
        rules_b = new.get(did, ("", (), {}))[2]
        d = DecisionChanges(file, did, name, columns + ("description",))
        d.added = [r for i, r in rules_b.items() if i not in rules_a]
        d.removed = [r for i, r in rules_a.items() if i not in rules_b]
        d.changed = [(rules_a[i], r) for i, r in rules_b.items() if i in rules_a and rules_a[i] != r]
        result.append(d)
    return result
