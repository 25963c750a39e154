// The draft page's scenario tests: save the draft, run its scenarios on the server, list each one
// passed or failed with its failing step, and pin each failure that names an element on the
// diagram (a mark that selects it, as the server check's problems do). Drives the modeller
// through window.gridflowStudio (web/static/studio.js); loaded as a file (the CSP forbids inline).
(function () {
  'use strict';
  var root = document.getElementById('studio');
  var box = document.getElementById('studio-scenarios');
  if (!root || !box || !window.gridflowStudio) { return; }
  var studio = window.gridflowStudio;
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var status = document.getElementById('studio-scenarios-status');
  var failures = [];   // the last run's failed scenarios that name an element

  function text(key, values) {
    var template = box.getAttribute('data-text-' + key) || '';
    return template.replace(/\{(\w+)\}/g, function (_, name) { return values && name in values ? values[name] : ''; });
  }

  // Mark the failures on the diagram shown now; called again whenever another file is opened.
  function pin() {
    var bpmn = studio.modelers().bpmn;
    var shown = root.getAttribute('data-open');
    if (!bpmn || !/\.bpmn$/.test(shown || '')) { return; }
    var overlays = bpmn.get('overlays'), registry = bpmn.get('elementRegistry');
    overlays.remove({ type: 'gridflow-scenario' });
    failures.forEach(function (f) {
      if (f.element_file !== shown || !registry.get(f.element)) { return; }
      var badge = document.createElement('div');
      badge.className = 'studio-problem-badge studio-scenario-badge';
      badge.title = f.text;
      badge.textContent = '✗';
      badge.setAttribute('data-element', f.element);
      overlays.add(f.element, 'gridflow-scenario', { position: { top: -12, right: 8 }, html: badge });
    });
  }

  function item(className, label, data) {
    var li = document.createElement('li');
    li.className = className;
    li.textContent = label;
    if (data && data.element) {
      li.setAttribute('data-element', data.element);
      li.addEventListener('click', function () {
        studio.open(data.element_file || data.file).then(function () { studio.select(data.element); });
      });
    }
    return li;
  }

  function show(result) {
    var list = document.getElementById('studio-scenarios-list');
    var summary = result.summary;
    list.textContent = '';
    (result.problems || []).forEach(function (p) { list.appendChild(item('problem', p.text, p)); });
    result.scenarios.forEach(function (s) {
      var li = item(s.passed ? 'ok' : 'problem', (s.passed ? '✓ ' : '✗ ') + s.text, s);
      li.setAttribute('data-scenario', s.id);
      li.setAttribute('data-result', s.passed ? 'passed' : 'failed');
      if (s.title) { li.title = s.title; }
      list.appendChild(li);
    });
    var words = !summary.scenarios ? text('none')
      : summary.failed ? text('some-failed', { failed: summary.failed, n: summary.scenarios })
        : text('all-passed', { n: summary.scenarios });
    var coverage = text('coverage', { covered: summary.flows_covered, total: summary.flows_total });
    if (summary.uncovered.length) { coverage += ' ' + text('uncovered') + ' ' + summary.uncovered.join(', '); }
    document.getElementById('studio-scenarios-summary').textContent = words + ' ' + coverage;
    failures = result.scenarios.filter(function (s) { return !s.passed && s.element; });
    pin();
    root.setAttribute('data-scenarios', result.ok ? 'passed' : 'failed');
  }

  function run() {
    status.textContent = text('running');
    root.removeAttribute('data-scenarios');
    return studio.save().then(function () {
      return fetch(box.getAttribute('data-run-url'), {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf }, body: '{}'
      });
    }).then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.json();
    }).then(function (result) {
      status.textContent = '';
      show(result);
    }).catch(function (err) {
      status.textContent = text('run-failed') + ' ' + (err && err.message ? err.message : err);
    });
  }

  document.getElementById('studio-run-scenarios').addEventListener('click', run);
  root.addEventListener('studio:opened', pin);
}());
