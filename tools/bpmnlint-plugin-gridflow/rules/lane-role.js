const { is } = require('bpmnlint-utils');
const { listOf } = require('./properties');

// Lanes are roles: every user task sits in a lane, and a lane's name is a role code
// or a lane name of policy.toml ({ lanes: [...] } in the configuration).
module.exports = function(config) {
  const lanes = listOf(config, 'lanes');

  function lanesOf(laneSets, into) {
    for (const laneSet of laneSets || []) {
      for (const lane of laneSet.lanes || []) {
        into.push(lane);
        lanesOf(lane.childLaneSet ? [ lane.childLaneSet ] : [], into);
      }
    }
    return into;
  }

  function check(node, reporter) {
    if (!is(node, 'bpmn:Process')) {
      return;
    }
    const laneOf = new Map();
    for (const lane of lanesOf(node.laneSets, [])) {
      if (lanes && !lanes.includes((lane.name || '').trim())) {
        reporter.report(lane.id, `Lane ${JSON.stringify(lane.name || '')} is not a role (policy.toml [lanes])`);
      }
      for (const ref of lane.flowNodeRef || []) {
        laneOf.set(ref.id, lane);
      }
    }
    for (const element of node.flowElements || []) {
      if (is(element, 'bpmn:UserTask') && !laneOf.has(element.id)) {
        reporter.report(element.id, 'User task is in no lane (lanes are roles)');
      }
    }
  }

  return { check };
};
