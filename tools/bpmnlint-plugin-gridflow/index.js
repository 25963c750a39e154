// gridflow's bpmnlint plugin. The rules take their vocabularies as configuration
// (built from processes/policy.toml and stages.toml by `gridflow processes lint-config`),
// so the diagram, the command line and the modeller check against the same lists.
// Rules are named by path, as bpmnlint's resolver expects.
module.exports = {
  configs: {
    recommended: {
      rules: {
        'lane-role': 'error',
        'task-properties': 'error',
        'effect': 'error'
      }
    }
  },
  rules: {
    'lane-role': './rules/lane-role',
    'task-properties': './rules/task-properties',
    'effect': './rules/effect'
  }
};
