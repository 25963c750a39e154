// camunda:properties of an element, as a plain object. Without the Camunda moddle
// (bpmnlint's command line) they are generic elements with $children; with it (the
// modeller) they are camunda:Properties with values.
function camundaProperties(element) {
  const found = {};
  const values = (element.extensionElements && element.extensionElements.values) || [];
  for (const extension of values) {
    if ((extension.$type || '').toLowerCase() !== 'camunda:properties') {
      continue;
    }
    for (const property of extension.values || extension.$children || []) {
      const name = property.name !== undefined ? property.name : (property.$attrs || {}).name;
      const value = property.value !== undefined ? property.value : (property.$attrs || {}).value;
      if (name) {
        found[name] = value || '';
      }
    }
  }
  return found;
}

// The configured list, or null when the configuration does not give one (then not checked).
function listOf(config, key) {
  return config && Array.isArray(config[key]) ? config[key] : null;
}

module.exports = { camundaProperties, listOf };
