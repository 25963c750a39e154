// The studio's draft page: one file at a time in bpmn-js (with the properties panel and
// bpmnlint), dmn-js or a plain text area; save to the server, check there (the problems are
// pinned to their elements) and deploy with the page's form. Loaded as a file: the CSP forbids
// inline script.
(function () {
  'use strict';
  var root = document.getElementById('studio');
  if (!root || !window.GridflowModeler) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var text = function (key) { return root.getAttribute('data-text-' + key) || ''; };
  var status = document.getElementById('studio-status');
  var files = {};
  var current = null;       // the file shown now
  var problems = [];        // the last server check
  var bpmn = null, dmn = null;

  function editorFor(name) {
    if (/\.bpmn$/.test(name)) { return 'bpmn'; }
    if (/\.dmn$/.test(name)) { return 'dmn'; }
    return 'text';
  }

  function show(kind) {
    root.querySelector('.studio-bpmn').hidden = kind !== 'bpmn';
    document.getElementById('studio-dmn').hidden = kind !== 'dmn';
    document.getElementById('studio-text').hidden = kind !== 'text';
  }

  // Take the shown file's text back from its editor.
  function collect() {
    if (current === null) { return Promise.resolve(); }
    var name = current, kind = editorFor(name);
    if (kind === 'text') {
      files[name] = document.getElementById('studio-text').value;
      return Promise.resolve();
    }
    var modeler = kind === 'bpmn' ? bpmn : dmn;
    return modeler.saveXML({ format: true }).then(function (result) { files[name] = result.xml; });
  }

  function openDecisionTable() {
    var table = dmn.getViews().filter(function (v) { return v.type === 'decisionTable'; })[0];
    if (table) { return dmn.open(table); }
    return Promise.resolve();
  }

  function open(name) {
    return collect().then(function () {
      current = name;
      var kind = editorFor(name);
      root.querySelectorAll('.studio-tab').forEach(function (tab) {
        tab.setAttribute('aria-selected', tab.getAttribute('data-file') === name ? 'true' : 'false');
      });
      show(kind);
      if (kind === 'text') {
        document.getElementById('studio-text').value = files[name];
        return null;
      }
      if (kind === 'bpmn') {
        bpmn = bpmn || window.GridflowModeler.createBpmnModeler({
          container: document.getElementById('studio-canvas'),
          propertiesPanel: document.getElementById('studio-properties'),
          lint: JSON.parse(root.getAttribute('data-lint'))
        });
        return bpmn.importXML(files[name]).then(function () {
          bpmn.get('canvas').zoom('fit-viewport');
          pin();
        });
      }
      dmn = dmn || window.GridflowModeler.createDmnModeler({ container: document.getElementById('studio-dmn') });
      return dmn.importXML(files[name]).then(openDecisionTable);
    }).then(function () {
      root.setAttribute('data-open', name);
      // Other parts of the page (the scenario tests) put their own marks on the new diagram.
      root.dispatchEvent(new CustomEvent('studio:opened', { detail: { file: name } }));
    }).catch(function (err) {
      status.textContent = text('load-failed') + ' ' + (err && err.message ? err.message : err);
    });
  }

  function post(url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  }

  function save() {
    return collect().then(function () {
      return post(root.getAttribute('data-save-url'), { files: files });
    }).then(function (result) {
      if (!result.ok) {
        var errors = result.data.errors || {};
        status.textContent = text('save-failed') + ' ' + Object.keys(errors).map(function (k) {
          return k + ': ' + errors[k].join(' ');
        }).join('; ');
        throw new Error('not saved');
      }
      status.textContent = text('saved');
      return result;
    });
  }

  // Put each problem of the shown diagram on its element, and list them all.
  function pin() {
    if (!bpmn || editorFor(current || '') !== 'bpmn') { return; }
    var overlays = bpmn.get('overlays'), registry = bpmn.get('elementRegistry');
    overlays.remove({ type: 'gridflow-problem' });
    problems.forEach(function (p) {
      if (p.file !== current || !p.element || !registry.get(p.element)) { return; }
      var badge = document.createElement('div');
      badge.className = 'studio-problem-badge';
      badge.title = p.text;
      badge.textContent = '!';
      badge.setAttribute('data-element', p.element);
      overlays.add(p.element, 'gridflow-problem', { position: { top: -12, left: -12 }, html: badge });
    });
  }

  function list(report) {
    var ul = document.getElementById('studio-problems');
    ul.textContent = '';
    var all = report.problems.map(function (p) { return [ 'problem', p ]; })
      .concat(report.warnings.map(function (p) { return [ 'warning', p ]; }));
    if (!report.problems.length) {
      var ok = document.createElement('li');
      ok.className = 'ok';
      ok.textContent = text('no-problems');
      ul.appendChild(ok);
    }
    all.forEach(function (entry) {
      var li = document.createElement('li');
      li.className = entry[0];
      li.textContent = entry[1].text;
      if (entry[1].element) {
        li.setAttribute('data-element', entry[1].element);
        li.setAttribute('data-file', entry[1].file || '');
        li.addEventListener('click', function () {
          open(entry[1].file).then(function () { select(entry[1].element); });
        });
      }
      ul.appendChild(li);
    });
  }

  // Select a diagram element and bring it into view (its properties show in the panel).
  function select(id) {
    var el = bpmn && bpmn.get('elementRegistry').get(id);
    if (!el) { return false; }
    bpmn.get('canvas').zoom(1);
    bpmn.get('canvas').scrollToElement(el);
    bpmn.get('selection').select(el);
    return true;
  }

  function check() {
    status.textContent = text('checking');
    return save().then(function () {
      return post(root.getAttribute('data-check-url'));
    }).then(function (result) {
      problems = result.data.problems || [];
      list(result.data);
      pin();
      root.setAttribute('data-checked', problems.length ? 'problems' : 'clean');
      status.textContent = '';
    }).catch(function () {});
  }

  document.getElementById('studio-save').addEventListener('click', function () { save().catch(function () {}); });
  document.getElementById('studio-check').addEventListener('click', check);
  root.querySelectorAll('.studio-tab').forEach(function (tab) {
    tab.addEventListener('click', function () { open(tab.getAttribute('data-file')); });
  });
  // Deploy or simulate what is on the screen: save first, then send the form.
  [document.getElementById('studio-deploy'), document.querySelector('#studio-simulate form')].forEach(function (form) {
    if (!form) { return; }
    form.addEventListener('submit', function (event) {
      if (form.getAttribute('data-saved') === 'yes') { return; }
      event.preventDefault();
      save().then(function () {
        form.setAttribute('data-saved', 'yes');
        form.submit();
      }).catch(function () {});
    });
  });

  fetch(root.getAttribute('data-files-url'), { credentials: 'same-origin' })
    .then(function (response) { return response.json(); })
    .then(function (data) {
      files = data.files;
      var first = Object.keys(files).sort().filter(function (n) { return /\.bpmn$/.test(n); })[0] || Object.keys(files).sort()[0];
      return open(first);
    });
  window.gridflowStudio = { open: open, save: save, check: check, select: select, modelers: function () { return { bpmn: bpmn, dmn: dmn }; } };
}());
