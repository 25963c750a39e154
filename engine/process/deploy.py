"""Validate the designers' BPMN/DMN files and deploy them as stored process versions."""
from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models import Category, Department, ProcessVersion

from engine.spiff import ExpressionError, bare_iso_literal, compile_checked
from engine.process.assessment import ASSESSMENT_FILE, parse_assessment
from engine.process.forms import FormDefinitionError, form_schema
from engine.process.two_way import TWO_WAY_FILE, parse_two_way
from engine.process.policy import POLICY_FILES, Policy, PolicyError, parse_policy, read_policy_files
from engine.process.scenarios import SCENARIO_FOLDER, read_scenarios, scenario_files
from engine.runtime import Runtime
from engine.spiff import ProcessError, flow_graph
from engine.process.variables import CATEGORY_VARIABLE, unset_variables

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
USER_TASK_PROPERTIES = ("stage", "scope")
EFFECTS = ("warning", "overdue", "escalate", "notify", "closed", "reopened")
# Effects that tell a level of the escalation ladder: `level` names it, `notify` its unit.
LEVEL_EFFECTS = ("overdue", "escalate")


@dataclass
class Deployment:
    version: ProcessVersion
    created: bool


def read_files(paths: list[Path | str]) -> dict[str, str]:
    """Read .bpmn and .dmn files (folders are searched, with their policy files and the scenario
    files in their ``scenarios/`` folder, named ``scenarios/<file>.toml``) into name → text."""
    files: dict[str, str] = {}
    for path in map(Path, paths):
        candidates = sorted(path.glob("*.bpmn")) + sorted(path.glob("*.dmn")) if path.is_dir() else [path]
        for file in candidates:
            if file.suffix not in (".bpmn", ".dmn") and file.name not in POLICY_FILES + (ASSESSMENT_FILE,):
                raise ProcessError(f"only .bpmn and .dmn files, {', '.join(POLICY_FILES)} and {ASSESSMENT_FILE} "
                                   "can be deployed", file=str(file))
            files[file.name] = file.read_text(encoding="utf-8")
        if path.is_dir():
            files.update(read_policy_files(path))
            if (path / ASSESSMENT_FILE).is_file():
                files[ASSESSMENT_FILE] = (path / ASSESSMENT_FILE).read_text(encoding="utf-8")
            for scenario in sorted((path / SCENARIO_FOLDER).glob("*.toml")):
                files[f"{SCENARIO_FOLDER}/{scenario.name}"] = scenario.read_text(encoding="utf-8")
    return files


def diagrams(files: dict[str, str]) -> dict[str, str]:
    return {name: text for name, text in files.items() if name.endswith((".bpmn", ".dmn"))}


def content_hash(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


@dataclass
class Check:
    problems: list[str]   # deploying is refused while there is one
    warnings: list[str]   # worth a look, deploying goes ahead


def validate(rt: Runtime, files: dict[str, str], required: str | None = None,
             session: Session | None = None) -> list[str]:
    """Return every problem found in the files (empty when they can be deployed)."""
    return check(rt, files, required, session).problems


def policy_for(rt: Runtime, files: dict[str, str]) -> Policy:
    """The policy the files bring, or the processes folder's when they bring none."""
    own = {n: t for n, t in files.items() if n in POLICY_FILES}
    return parse_policy(own) if own else rt.policy


def check(rt: Runtime, files: dict[str, str], required: str | None = None,
          session: Session | None = None) -> Check:
    """Check the diagrams and the policy files together: problems and warnings.

    With a ``session``, codes of departments and categories in decisions and forms are
    checked against the city's too."""
    sources = diagrams(files)
    if not sources:
        return Check(["no .bpmn or .dmn files found"], [])
    try:
        policy = policy_for(rt, files)
    except PolicyError as exc:
        return Check([str(exc)], [])
    problems = _raw_checks(sources) + _expression_checks(sources)
    try:
        bundles = rt.workflows.parse(sources)
    except ProcessError as exc:
        return Check(problems + [str(exc)], [])
    if required and required not in bundles:
        problems.append(f"process {required!r} is not defined in any .bpmn file")
    used: set[str] = set()
    for bundle in bundles.values():
        graph = flow_graph(bundle)
        problems += unset_variables(bundle.key, graph, bundle.node, rt.expression_functions({}))
        if session is not None:
            problems += _city_problems(session, bundle, graph)
        for node in bundle.nodes():
            where = f"{bundle.key}/{node.bpmn_id}"
            stage = node.properties.get("stage")
            if stage:
                used.add(stage)
                if stage not in policy.stages:
                    problems.append(f"{where}: stage {stage!r} is not in the stage vocabulary (stages.toml)")
                elif (policy.own_clock(stage) and node.kind == "userTask"
                      and node.properties.get("affectsStage", "true").lower() != "false"):
                    problems.append(f"{where}: stage {stage!r} keeps its own clock (stages.toml own_clock), so its "
                                    "task must be a side task (affectsStage = false)")
            if node.kind == "userTask":
                if policy.role_for_lane(node.lane) is None:
                    problems.append(f"{where}: lane {node.lane!r} is not a known role (policy.toml [lanes])")
                for prop in USER_TASK_PROPERTIES:
                    if not node.properties.get(prop):
                        problems.append(f"{where}: user task needs camunda property {prop!r}")
                try:
                    form_schema(node.fields)
                except FormDefinitionError as exc:
                    problems.append(f"{where}: {exc}")
            problems += _effect_problems(where, node.properties, policy)
            for prop in ("due",):
                if node.properties.get(prop):
                    try:
                        compile_checked(node.properties[prop], "eval")
                    except ExpressionError as exc:
                        problems.append(f"{where}: property {prop}: {exc}")
    if ASSESSMENT_FILE in files:  # one file, two readers: the indicators' and the two-way rating's
        forms = {n.bpmn_id: {f.id for f in n.fields} for b in bundles.values() for n in b.nodes()
                 if n.kind == "userTask"}
        try:
            parse_assessment(files[ASSESSMENT_FILE], roles=policy.roles, tasks=forms)
            parse_two_way(files[TWO_WAY_FILE], roles=policy.roles, tasks=forms)
        except PolicyError as exc:
            problems.append(str(exc))
    if scenario_files(files):  # checked as far as the files go; the city's names are checked by the run
        problems += read_scenarios(files, bundles, policy, required)[1]
    warnings = [f"stages.toml: stage {code!r} is not used by any diagram"
                for code, stage in policy.stages.items() if code not in used and not stage.set_by_engine]
    return Check(problems, warnings)


def _city_problems(session: Session, bundle, graph) -> list[str]:
    """Refuse a department or category code the city does not have, named in a decision or a form.

    A column names departments when its variable is a form field with the ``department``
    constraint or the variable such a field is prefilled from; one over ``category_code``
    names categories. A city with no departments (or categories) yet is not checked.
    """
    departments = set(session.scalars(select(Department.code)))
    categories = set(session.scalars(select(Category.code)))
    department_fields = [f for n in bundle.nodes() for f in n.fields if "department" in dict(f.constraints)]
    # A department field's own variable, and the recommendation it is prefilled from, name departments.
    department_vars = {f.id for f in department_fields} | {
        dict(f.properties)["prefill"] for f in department_fields if dict(f.properties).get("prefill")}
    problems = []

    def refuse(where, what, values, known, kind):
        for value in values:
            if known and value not in known:
                problems.append(f"{where}: {what} names {kind} {value!r}, which this city does not have")

    for node in bundle.nodes():
        for f in node.fields:
            if f.id in department_vars:
                refuse(f"{bundle.key}/{node.bpmn_id}", f"form field {f.id}",
                      [v for v in (f.default, *(o for o, _ in f.options)) if v], departments, "department")
    seen = set()
    for step in graph.steps.values():
        d = step.decision
        if d is None or d.id in seen:
            continue
        seen.add(d.id)
        where = f"{bundle.key}/{step.bpmn_id}: decision {d.id}"
        for rule, column, text in d.output_cells:
            if column in department_vars:
                refuse(f"{where}, rule {rule}", f"output {column}", _literals(text), departments, "department")
        for rule, column, text in d.input_cells:
            known, kind = ((categories, "category") if column.strip() == CATEGORY_VARIABLE
                           else (departments, "department") if column.strip() in department_vars else (None, ""))
            if known is not None:
                refuse(f"{where}, rule {rule}", f"input {column}", _literals(text), known, kind)
    return problems


def _literals(text: str) -> tuple[str, ...]:
    """The non-empty string constants of a decision cell (one, or a comma-separated list)."""
    try:
        value = ast.literal_eval(text.strip()) if text.strip() else ()
    except (ValueError, SyntaxError):
        return ()  # an expression, not a code: nothing to look up
    return tuple(v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, str) and v)


def _effect_problems(where: str, props: dict[str, str], policy: Policy) -> list[str]:
    """Check an effect's properties now rather than as an incident when its timer fires."""
    effect = props.get("effect")
    if not effect:
        return []
    if effect not in EFFECTS:
        return [f"{where}: effect {effect!r} is not one of {', '.join(EFFECTS)}"]
    problems = []
    if effect in LEVEL_EFFECTS and props.get("level") not in policy.levels:
        problems.append(f"{where}: {effect} needs level {', '.join(policy.levels)} (policy.toml "
                        f"[escalation.levels]), not {props.get('level')!r}")
    if effect in LEVEL_EFFECTS + ("notify",) and not props.get("notify"):
        problems.append(f"{where}: {effect} needs property 'notify' (the scope variable of who to tell)")
    if effect == "escalate" and props.get("role"):
        problems.append(f"{where}: the roles an escalation tells are set per level in policy.toml "
                        "[escalation.levels], not by a 'role' property")
    if effect == "notify" and props.get("notice") not in policy.notices:
        problems.append(f"{where}: notify needs property 'notice' naming a text of notices.toml, "
                        f"not {props.get('notice')!r}")
    return problems


def _raw_checks(files: dict[str, str]) -> list[str]:
    # Traps the library does not report: formData on a task without formKey is silently
    # ignored, and it indexes form-field and enum-value ids together with flow-node ids,
    # so an option id equal to a task id makes that task vanish from the parse.
    problems = []
    for name, text in files.items():
        if not name.endswith(".bpmn"):
            continue
        try:
            root = etree.fromstring(text.encode("utf-8"))
        except etree.XMLSyntaxError:
            continue  # reported by the parser
        for task in root.iter(f"{{{BPMN_NS}}}userTask"):
            has_form = task.find(f".//{{{CAMUNDA_NS}}}formData") is not None
            if has_form and not task.get(f"{{{CAMUNDA_NS}}}formKey"):
                problems.append(f"{name}: user task {task.get('id')} has formData but no camunda:formKey,"
                                " so its form would be ignored")
        # Two elements with one id: the parser keeps one of them without a word, so a flow can
        # silently join the wrong elements.
        seen_ids: set[str] = set()
        for el in root.iter(f"{{{BPMN_NS}}}*"):
            element_id = el.get("id")
            if element_id in seen_ids:
                problems.append(f"{name}: element id {element_id!r} is used twice; ids must be unique")
            elif element_id:
                seen_ids.add(element_id)
        form_ids = {el.get("id") for tag in ("formField", "value") for el in root.iter(f"{{{CAMUNDA_NS}}}{tag}")}
        node_ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str)
                    and el.tag.startswith(f"{{{BPMN_NS}}}")}
        for clash in sorted((form_ids & node_ids) - {None}):
            problems.append(f"{name}: form field or enum value id {clash!r} is also an element id;"
                            " rename one (the parser would confuse them)")
    return problems


def _expression_checks(files: dict[str, str]) -> list[str]:
    """Compile every script, condition, timer and decision cell under the sandbox's rules."""
    problems = []
    for name, text in files.items():
        try:
            root = etree.fromstring(text.encode("utf-8"))
        except etree.XMLSyntaxError:
            continue
        for el in root.iter():
            if not isinstance(el.tag, str) or not (el.text or "").strip():
                continue
            tag = etree.QName(el).localname
            owner = next((a.get("id") for a in el.iterancestors() if a.get("id")), "?")
            source = el.text.strip()
            try:
                if tag == "script":
                    compile_checked(source, "exec")
                elif tag == "conditionExpression" or (tag == "text" and etree.QName(el.getparent()).localname
                                                       in ("inputExpression", "outputEntry")):
                    compile_checked(source, "eval")
                elif tag in ("timeDate", "timeDuration", "timeCycle"):
                    if bare_iso_literal(source) is None:
                        compile_checked(source, "eval")
                elif tag == "text" and etree.QName(el.getparent()).localname == "inputEntry":
                    _compile_unary_test(source)
            except ExpressionError as exc:
                problems.append(f"{name}: {owner}: {tag} {source[:60]!r}: {exc}")
    return problems


def _compile_unary_test(source: str) -> None:
    # A decision cell is either a value to compare with ('"E0101"') or an operator and a
    # value ('< 5'); the engine tries them in that order.
    try:
        compile_checked(source, "eval")
    except ExpressionError as exc:
        if "syntax error" not in str(exc):
            raise
        compile_checked(f"dmninput {source}", "eval")


def deploy(session: Session, rt: Runtime, files: dict[str, str], key: str, *,
           deployed_by: str | None = None, note: str | None = None) -> Deployment:
    """Store a new version of process ``key`` when the files changed; return the current one.

    The command line and the studio both deploy through here, so their versions are alike."""
    problems = validate(rt, files, required=key, session=session)
    if problems:
        raise ProcessError("cannot deploy: " + "; ".join(problems))
    digest = content_hash(files)
    latest = latest_version(session, key)
    if latest is not None and latest.content_hash == digest:
        return Deployment(latest, False)
    bundle = rt.workflows.parse(diagrams(files))[key]
    version = ProcessVersion(
        key=key, version=(latest.version + 1) if latest else 1, content_hash=digest,
        source_files=files, serialized_spec=rt.workflows.dump_spec(bundle), deployed_at=rt.clock(),
        deployed_by=deployed_by, note=(note or "").strip() or None)
    session.add(version)
    session.flush()
    return Deployment(version, True)


_LATEST = (select(ProcessVersion).where(ProcessVersion.key == bindparam("key"))
           .order_by(ProcessVersion.version.desc()).limit(1))


def latest_version(session: Session, key: str) -> ProcessVersion | None:
    return session.scalars(_LATEST, {"key": key}).first()
