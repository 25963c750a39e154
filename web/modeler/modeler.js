// gridflow's process modeller, bundled by esbuild (web/modeler/build.mjs, run by `make setup`)
// into web/static/vendor/studio/. bpmn-js with the properties panel and its Camunda 7
// provider, bpmnlint in the canvas (the recommended rules and gridflow's plugin), dmn-js for
// the decision tables. The page script (web/static/studio.js) drives it through
// window.GridflowModeler; nothing here runs inline (the CSP forbids it).
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule
} from 'bpmn-js-properties-panel';
import CamundaPlatformBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import lintModule from 'bpmn-js-bpmnlint';
import DmnModeler from 'dmn-js/lib/Modeler';

import { rules as bpmnlintRules, recommended } from './rules.generated.js';
import gridflowPlugin from 'bpmnlint-plugin-gridflow';
import laneRole from 'bpmnlint-plugin-gridflow/rules/lane-role';
import taskProperties from 'bpmnlint-plugin-gridflow/rules/task-properties';
import effect from 'bpmnlint-plugin-gridflow/rules/effect';

const gridflowRules = { 'lane-role': laneRole, 'task-properties': taskProperties, 'effect': effect };

// bpmn-js-bpmnlint takes a resolved configuration: the rules with their settings, and a
// resolver that hands out the rule factories by package and name.
function lintConfig(serverConfig) {
  const rules = {};
  for (const base of serverConfig.extends || []) {
    if (base === 'bpmnlint:recommended') {
      Object.assign(rules, recommended.rules);
    } else if (base === 'plugin:gridflow/recommended') {
      for (const [ name, level ] of Object.entries(gridflowPlugin.configs.recommended.rules)) {
        rules[`gridflow/${name}`] = level;
      }
    }
  }
  Object.assign(rules, serverConfig.rules || {});
  return {
    config: { rules },
    resolver: {
      resolveRule(pkg, ruleName) {
        const rule = pkg === 'bpmnlint' ? bpmnlintRules[ruleName]
          : pkg === 'bpmnlint-plugin-gridflow' ? gridflowRules[ruleName] : undefined;
        if (!rule) {
          throw new Error(`unknown rule ${pkg}/${ruleName}`);
        }
        return rule;
      },
      resolveConfig() {
        return null;
      }
    }
  };
}

function createBpmnModeler({ container, propertiesPanel, lint }) {
  return new BpmnModeler({
    container,
    propertiesPanel: { parent: propertiesPanel },
    linting: { bpmnlint: lintConfig(lint), active: true },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      CamundaPlatformBehaviorsModule,
      lintModule
    ],
    moddleExtensions: { camunda: camundaModdle }
  });
}

function createDmnModeler({ container }) {
  return new DmnModeler({ container });
}

window.GridflowModeler = { createBpmnModeler, createDmnModeler };
