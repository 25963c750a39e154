// The case's process drawn with bpmn-js: the path taken, the current task and overdue tasks marked.
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) return;
  var path = JSON.parse(box.dataset.path || "{}");
  var viewer = new window.BpmnJS({ container: box });
  fetch(box.dataset.xml, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      function mark(id, cls) { if (registry.get(id)) canvas.addMarker(id, cls); }
      (path.done || []).forEach(function (id) { mark(id, "gf-done"); });
      var steps = {};
      (path.steps || []).forEach(function (s) { steps[s[0] + ">" + s[1]] = true; });
      registry.filter(function (el) { return el.type === "bpmn:SequenceFlow"; }).forEach(function (flow) {
        if (flow.source && flow.target && steps[flow.source.id + ">" + flow.target.id]) canvas.addMarker(flow.id, "gf-step");
      });
      (path.current || []).forEach(function (id) { mark(id, "gf-current"); });
      (path.overdue || []).forEach(function (id) { mark(id, "gf-overdue"); });
      canvas.zoom("fit-viewport");
      // On a small screen the whole process is too small to read: zoom in on the current task.
      var current = (path.current || []).map(function (id) { return registry.get(id); }).filter(Boolean)[0];
      if (current && box.clientWidth < 700) {
        canvas.zoom(0.8);
        var vb = canvas.viewbox();
        canvas.viewbox({ x: current.x + current.width / 2 - vb.width / 2, y: current.y + current.height / 2 - vb.height / 2,
                         width: vb.width, height: vb.height });
      }
      box.dataset.ready = "true";
    })
    .catch(function (err) { box.textContent = (box.dataset.error || "The diagram could not be shown:") + " " + err.message; box.dataset.ready = "error"; });
})();
