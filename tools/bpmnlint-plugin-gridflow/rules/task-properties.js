const { is } = require('bpmnlint-utils');
const { camundaProperties, listOf } = require('./properties');

// A user task names its stage (one of stages.toml) and the scope variable of who may
// take it; a waiting state's stage, when it has one, is from the vocabulary too.
module.exports = function(config) {
  const stages = listOf(config, 'stages');

  function check(node, reporter) {
    if (!is(node, 'bpmn:FlowNode')) {
      return;
    }
    const props = camundaProperties(node);
    if (is(node, 'bpmn:UserTask')) {
      for (const name of [ 'stage', 'scope' ]) {
        if (!props[name]) {
          reporter.report(node.id, `User task needs camunda property ${JSON.stringify(name)}`);
        }
      }
    }
    if (props.stage && stages && !stages.includes(props.stage)) {
      reporter.report(node.id, `Stage ${JSON.stringify(props.stage)} is not in the stage vocabulary (stages.toml)`);
    }
  }

  return { check };
};
