"""processes/ is clean: bpmnlint's recommended rules and gridflow's own plugin find nothing,
and the files are valid against the OMG BPMN 2.0 and DMN 1.3 schemas (shipped in the
bpmn-moddle and dmn-moddle npm packages that `make setup` installs)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from engine.process.lint import lint_config
from engine.process.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
NODE_MODULES = ROOT / "node_modules"
BPMNLINT = NODE_MODULES / ".bin" / "bpmnlint"


@pytest.fixture(scope="module")
def lint(tmp_path_factory):
    if not BPMNLINT.exists() or shutil.which("node") is None:
        pytest.fail("bpmnlint is not installed: run `make setup` (npm ci)")
    config = tmp_path_factory.mktemp("lint") / ".bpmnlintrc"
    config.write_text(json.dumps(lint_config(load_policy(PROCESSES))), encoding="utf-8")

    def run(*files: Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(BPMNLINT), "-c", str(config), *map(str, files)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    return run


def test_the_shipped_diagrams_pass_bpmnlint_and_gridflows_rules(lint):
    result = lint(*sorted(PROCESSES.glob("*.bpmn")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_bpmnlint_reports_an_unnamed_end_a_fake_join_and_a_task_without_its_stage(lint, tmp_path):
    text = (PROCESSES / "grid_case.bpmn").read_text(encoding="utf-8")
    broken = (text.replace('<bpmn:endEvent id="supervise_end" name="督办结束">', '<bpmn:endEvent id="supervise_end">')
              .replace('<camunda:property name="stage" value="dispatch" />\n          <camunda:property name="scope"',
                       '<camunda:property name="scope"', 1)
              .replace('<bpmn:lane id="Lane_supervisor" name="督办员">', '<bpmn:lane id="Lane_supervisor" name="督察">'))
    assert broken.count("督察") == 1
    (tmp_path / "grid_case.bpmn").write_text(broken, encoding="utf-8")
    result = lint(tmp_path / "grid_case.bpmn")
    assert result.returncode != 0
    assert "supervise_end" in result.stdout and "label-required" in result.stdout
    assert 'Lane "督察" is not a role' in result.stdout
    assert 'User task needs camunda property "stage"' in result.stdout


@pytest.mark.parametrize("pattern, schema", [
    ("*.bpmn", "bpmn-moddle/resources/bpmn/xsd/BPMN20.xsd"),
    ("*.dmn", "dmn-moddle/resources/dmn/xsd/DMN13.xsd"),
])
def test_the_shipped_files_are_valid_against_the_omg_schemas(pattern, schema):
    path = NODE_MODULES / schema
    if not path.exists():
        pytest.fail(f"{schema} is missing: run `make setup` (npm ci)")
    xsd = etree.XMLSchema(etree.parse(str(path)))
    files = sorted(PROCESSES.glob(pattern))
    assert files
    for file in files:
        assert xsd.validate(etree.parse(str(file))), f"{file.name}: {xsd.error_log}"
