"""The shipped diagram opens cleanly in Camunda Modeler / bpmn-js: every flow node is drawn
inside its lane, and every flow is drawn from its source to its target."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
DIAGRAM = Path(__file__).resolve().parents[2] / "processes" / "grid_case.bpmn"
TASKS = ("userTask", "scriptTask", "businessRuleTask", "receiveTask")


@pytest.fixture(scope="module")
def diagram():
    root = etree.parse(str(DIAGRAM)).getroot()
    bounds = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        b = shape.find("dc:Bounds", NS)
        bounds[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    edges = {e.get("bpmnElement"): [(float(w.get("x")), float(w.get("y"))) for w in e.iterfind("di:waypoint", NS)]
             for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    return root.find("bpmn:process", NS), bounds, edges


def _inside(inner, outer):
    return (inner[0] >= outer[0] and inner[1] >= outer[1]
            and inner[0] + inner[2] <= outer[0] + outer[2] and inner[1] + inner[3] <= outer[1] + outer[3])


def test_every_flow_node_is_drawn_inside_its_lane(diagram):
    process, bounds, _ = diagram
    lanes = {ref.text: lane.get("id") for lane in process.iterfind(".//bpmn:lane", NS)
             for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
    nodes = [el.get("id") for el in process if etree.QName(el).localname not in (
        "laneSet", "sequenceFlow", "dataObject", "dataObjectReference")]
    assert sorted(set(nodes) - set(lanes)) == []                      # every node is in a lane
    assert sorted(n for n in nodes if n not in bounds) == []          # and drawn
    misplaced = [f"{n} {bounds[n]} not in {lanes[n]} {bounds[lanes[n]]}" for n in nodes
                 if not _inside(bounds[n], bounds[lanes[n]])]
    assert misplaced == []


def test_every_flow_is_drawn_from_its_source_to_its_target(diagram):
    process, bounds, edges = diagram
    kinds = {el.get("id"): etree.QName(el).localname for el in process}
    wrong = []
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        points = edges.get(flow.get("id"))
        if not points or len(points) < 2:
            wrong.append(f"{flow.get('id')}: not drawn")
            continue
        for end, point in ((flow.get("sourceRef"), points[0]), (flow.get("targetRef"), points[-1])):
            x, y, w, h = bounds[end]
            on_box = x - 2 <= point[0] <= x + w + 2 and y - 2 <= point[1] <= y + h + 2
            deep_inside = kinds[end] in TASKS and x + 3 < point[0] < x + w - 3 and y + 3 < point[1] < y + h - 3
            if not on_box or deep_inside:
                wrong.append(f"{flow.get('id')}: {point} does not touch {end} {bounds[end]}")
    assert wrong == []
