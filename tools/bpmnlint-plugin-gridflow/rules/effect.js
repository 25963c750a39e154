const { is } = require('bpmnlint-utils');
const { camundaProperties, listOf } = require('./properties');

const EFFECTS = [ 'warning', 'overdue', 'escalate', 'notify', 'closed', 'reopened' ];
const LEVEL_EFFECTS = [ 'overdue', 'escalate' ];

// An effect (a throw event's `effect` property) carries what it needs: a level of the
// escalation ladder and whom to notify, or the notice text to send.
module.exports = function(config) {
  const levels = listOf(config, 'levels');
  const notices = listOf(config, 'notices');

  function check(node, reporter) {
    if (!is(node, 'bpmn:FlowNode')) {
      return;
    }
    const props = camundaProperties(node);
    const effect = props.effect;
    if (!effect) {
      return;
    }
    if (!EFFECTS.includes(effect)) {
      reporter.report(node.id, `Effect ${JSON.stringify(effect)} is not one of ${EFFECTS.join(', ')}`);
      return;
    }
    if (LEVEL_EFFECTS.includes(effect) && (!props.level || (levels && !levels.includes(props.level)))) {
      reporter.report(node.id, `Effect ${effect} needs property "level", one of policy.toml [escalation.levels]`);
    }
    if ((LEVEL_EFFECTS.includes(effect) || effect === 'notify') && !props.notify) {
      reporter.report(node.id, `Effect ${effect} needs property "notify" (the scope variable of who to tell)`);
    }
    if (effect === 'escalate' && props.role) {
      reporter.report(node.id, 'An escalation\'s roles are set per level in policy.toml, not by a "role" property');
    }
    if (effect === 'notify' && (!props.notice || (notices && !notices.includes(props.notice)))) {
      reporter.report(node.id, 'Effect notify needs property "notice" naming a text of notices.toml');
    }
  }

  return { check };
};
