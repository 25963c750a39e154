// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }

  // Periodic refreshes (inbox, board) skip a hidden tab, and the inbox skips them once "show
  // more" has loaded more rows than one page (a refresh would drop them). Done here rather than
  // as hx-trigger filters, which htmx evaluates as code and the Content-Security-Policy forbids.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-refresh-max-rows")) return;
    var max = parseInt(elt.getAttribute("data-refresh-max-rows"), 10);
    var rows = document.querySelectorAll("#inbox-rows tr.task").length;
    if (document.hidden || (!isNaN(max) && rows > max)) evt.preventDefault();
  });

  // Category search on the intake page: hide 小类 that do not match, open the 大类 that do.
  function categorySearch() {
    document.querySelectorAll("[data-filter-list]").forEach(function (input) {
      var list = document.getElementById(input.dataset.filterList);
      if (!list) return;
      input.addEventListener("input", function () {
        var q = input.value.trim().toLowerCase();
        list.querySelectorAll("details").forEach(function (group) {
          var any = false;
          group.querySelectorAll("[data-search]").forEach(function (item) {
            var hit = !q || item.dataset.search.toLowerCase().indexOf(q) >= 0;
            item.hidden = !hit; any = any || hit;
          });
          group.hidden = !any;
          group.open = !!q && any;
        });
      });
    });
  }

  // "Use my location" fills the coordinates from the device.
  function locate() {
    document.querySelectorAll("[data-locate]").forEach(function (button) {
      if (!navigator.geolocation) { button.hidden = true; return; }
      button.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          var form = button.closest("form");
          form.querySelector("[name=lat]").value = pos.coords.latitude.toFixed(6);
          form.querySelector("[name=lng]").value = pos.coords.longitude.toFixed(6);
          // The browser's position is WGS-84; the report page's map looks the grid up on change.
          var system = form.querySelector("[name=coord_system]");
          if (system) { system.value = "wgs84"; }
          form.querySelector("[name=lat]").dispatchEvent(new Event("change"));
        });
      });
    });
  }

  // Fields required only for one choice (camunda required_if "field=value") show when it applies.
  function conditionalFields() {
    var fields = document.querySelectorAll("[data-required-if]");
    if (!fields.length) return;
    function update() {
      fields.forEach(function (el) {
        var parts = el.dataset.requiredIf.split("=");
        var form = el.closest("form");
        var chosen = form.querySelector("[name='" + parts[0] + "']:checked") || form.querySelector("select[name='" + parts[0] + "']");
        var value = chosen ? chosen.value : "";
        var filled = Array.prototype.some.call(el.querySelectorAll("input,textarea,select"), function (input) {
          return (input.type === "radio" || input.type === "checkbox") ? input.checked : !!input.value;
        });
        var show = value === parts[1] || el.classList.contains("has-error") || filled;
        el.hidden = !show;
      });
    }
    document.addEventListener("change", update);
    update();
  }

  // The report page as an app that works offline: its service worker (web/static/report-sw.js) is
  // installed from any page of someone who reports, and the page it kept is deleted once signed out.
  function offlineApp() {
    var worker = document.querySelector("meta[name=gridflow-worker]");
    if (worker && "serviceWorker" in navigator) {
      navigator.serviceWorker.register(worker.content, { scope: worker.dataset.scope }).catch(function () {});
    }
    if (document.querySelector("meta[name=gridflow-signed-out]") && window.caches) {
      caches.delete("gridflow-shell").catch(function () {});
    }
  }

  ready(function () { categorySearch(); locate(); conditionalFields(); offlineApp(); });
})();
