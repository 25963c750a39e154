// The assessment page's charts (Apache ECharts, vendored): a monthly trend of the main rates and
// the ranking's closing rate against the previous period. Data comes in data-chart-data (JSON);
// nothing here is inline script, as the Content-Security-Policy requires.
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }
  function percent(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(2) + " %"; }
  var axisPercent = { type: "value", min: 0, max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } };

  var builders = {
    trend: function (data) {
      return {
        tooltip: { trigger: "axis", valueFormatter: percent },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 40, bottom: 32 },
        xAxis: { type: "category", data: data.months },
        yAxis: axisPercent,
        series: data.series.map(function (s) { return { name: s.name, type: "line", data: s.data, connectNulls: false }; })
      };
    },
    compare: function (data) {
      return {
        title: { text: data.title, textStyle: { fontSize: 13 } },
        tooltip: { trigger: "axis", valueFormatter: percent },
        legend: { top: 0, right: 0 },
        grid: { left: 48, right: 16, top: 40, bottom: 64 },
        xAxis: { type: "category", data: data.names, axisLabel: { interval: 0, rotate: 30 } },
        yAxis: axisPercent,
        series: [{ name: data.labels[0], type: "bar", data: data.current },
                 { name: data.labels[1], type: "bar", data: data.previous }]
      };
    }
  };

  ready(function () {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var build = builders[el.dataset.chart];
      if (!build) return;
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(build(JSON.parse(el.dataset.chartData)));
      el.setAttribute("data-chart-ready", "1");
      window.addEventListener("resize", function () { chart.resize(); });
    });
  });
})();
