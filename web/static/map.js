/* gridflow maps (Leaflet): the case map of /map and the point picker of /report.
   No tiles unless the deployment names its own basemap: a tile server (MAP_TILE_URL) or a
   PMTiles file the server serves (MAP_PMTILES_FILE, read by the pmtiles package's Leaflet
   layer); otherwise the grids' polygons on a plain background. Coordinates on both maps are
   WGS-84, as stored. */
(function () {
  "use strict";

  var SLA_COLOURS = { on_time: "#2e7d32", at_risk: "#f9a825", overdue: "#c62828" };

  function baseMap(el) {
    var served = el.dataset.pmtiles && typeof pmtiles !== "undefined";
    var map = L.map(el, { zoomSnap: 0.25, attributionControl: !!(el.dataset.tiles || served) });
    var options = { attribution: el.dataset.attribution || "", maxZoom: 19 };
    if (served) {
      // Its tiles come by HTTP range requests for parts of one file; beyond its zoom levels they are scaled.
      options.minNativeZoom = parseInt(el.dataset.minZoom, 10) || 0;
      options.maxNativeZoom = parseInt(el.dataset.maxZoom, 10) || 19;
      pmtiles.leafletRasterLayer(new pmtiles.PMTiles(el.dataset.pmtiles), options).addTo(map);
    } else if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, options).addTo(map);
    }
    return map;
  }

  function gridName(props, lang) { return lang === "en" ? props.name_en : props.name; }

  // Overdue count or share as a red of rising strength; a grid without overdue cases stays pale.
  function shading(grids, shade) {
    var top = 0;
    grids.forEach(function (g) { top = Math.max(top, g.properties[shade]); });
    return function (props) {
      var strength = top > 0 ? props[shade] / top : 0;
      return { color: "#455a64", weight: 1, fillColor: strength > 0 ? "#c62828" : "#cfd8dc",
               fillOpacity: strength > 0 ? 0.15 + 0.55 * strength : 0.25 };
    };
  }

  function caseMap(el) {
    var data = JSON.parse(el.dataset.geojson);
    var grids = data.features.filter(function (f) { return f.properties.kind === "grid"; });
    var cases = data.features.filter(function (f) { return f.properties.kind === "case"; });
    var map = baseMap(el);
    var style = shading(grids, el.dataset.shade);
    var lang = el.dataset.lang;
    var layer = L.geoJSON(grids, {
      style: function (f) { return style(f.properties); },
      onEachFeature: function (f, shape) {
        var p = f.properties;
        shape.bindTooltip(gridName(p, lang) + " · " + p.cases + " " + el.dataset.labelCases + ", " +
                          p.overdue + " " + el.dataset.labelOverdue, { sticky: true });
        shape.on("add", function () {
          var path = shape.getElement();
          if (path) { path.setAttribute("data-grid", p.code); }
        });
      }
    }).addTo(map);
    var points = L.geoJSON(cases, {
      pointToLayer: function (f, at) {
        return L.circleMarker(at, { radius: 7, weight: 2, color: "#ffffff", fillOpacity: 0.95,
                                    fillColor: SLA_COLOURS[f.properties.sla] || "#546e7a" });
      },
      onEachFeature: function (f, marker) {
        var p = f.properties;
        marker.bindTooltip(p.code + " · " + (lang === "en" ? p.category_en : p.category) +
                           (p.address ? " · " + p.address : ""));
        marker.on("add", function () {
          var path = marker.getElement();
          if (path) { path.setAttribute("data-case", p.code); path.setAttribute("data-sla", p.sla); }
        });
        marker.on("click", function () {
          window.location.href = el.dataset.caseUrl.replace("CODE", encodeURIComponent(p.code));
        });
      }
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); } else { map.setView([39.9, 116.4], 12); }
    points.bringToFront();
    el.setAttribute("data-ready", "true");
  }

  function pickMap(el) {
    var form = el.closest("form");
    var lat = form.querySelector("[name=lat]");
    var lng = form.querySelector("[name=lng]");
    var system = form.querySelector("[name=coord_system]");
    var grid = form.querySelector("[name=grid_code]");
    var found = document.getElementById("pick-found");
    var map = baseMap(el);
    var marker = null;
    var lang = el.dataset.lang;

    function show(point) {
      if (marker) { marker.setLatLng(point); } else { marker = L.marker(point, { keyboard: false }).addTo(map); }
    }

    function lookUp() {
      if (!lat.value || !lng.value) { return; }
      var query = "?lat=" + encodeURIComponent(lat.value) + "&lng=" + encodeURIComponent(lng.value) +
                  "&coord_system=" + encodeURIComponent(system ? system.value : "wgs84");
      fetch(el.dataset.lookup + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (answer) {
          found.classList.toggle("field-error", !answer.ok);
          if (!answer.ok) {
            var errors = answer.body.errors || {};
            found.textContent = Object.keys(errors).map(function (k) { return errors[k].join(" "); }).join(" ");
            return;
          }
          var g = answer.body;
          found.textContent = el.dataset.labelFound + " " + (lang === "en" ? g.name_en : g.name) + " (" + g.code + ")";
          found.setAttribute("data-grid", g.code);
          show([g.lat, g.lng]);
          if (grid && grid.querySelector('option[value="' + g.code + '"]')) { grid.value = g.code; }
        }, function () {  // no connection: the point is kept, its grid found when the report is sent
          found.classList.remove("field-error");
          found.textContent = el.dataset.labelOffline || "";
        });
    }

    fetch(el.dataset.area, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (area) {
        var layer = L.geoJSON(area, {
          style: { color: "#455a64", weight: 1, fillColor: "#90caf9", fillOpacity: 0.2 },
          onEachFeature: function (f, shape) {
            shape.bindTooltip(gridName(f.properties, lang), { sticky: true });
            shape.on("add", function () {
              var path = shape.getElement();
              if (path) { path.setAttribute("data-grid", f.properties.code); }
            });
          }
        }).addTo(map);
        var bounds = layer.getBounds();
        if (bounds.isValid()) { map.fitBounds(bounds, { padding: [8, 8] }); } else { map.setView([39.9, 116.4], 12); }
        el.setAttribute("data-ready", "true");
      }, function () { map.setView([39.9, 116.4], 12); });  // offline without the grids kept: a blank map

    // A point picked on the map is WGS-84, the datum of the polygons.
    map.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(6);
      lng.value = e.latlng.lng.toFixed(6);
      if (system) { system.value = "wgs84"; }
      show(e.latlng);
      lookUp();
    });
    [lat, lng, system].forEach(function (input) { if (input) { input.addEventListener("change", lookUp); } });
    if (lat.value && lng.value) { lookUp(); }
  }

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    if (typeof L === "undefined") { return; }
    var el = document.getElementById("case-map");
    if (el) { caseMap(el); }
    var picker = document.getElementById("pick-map");
    if (picker) { pickMap(picker); }
  });
})();
