/* The officers' dashboard: draws each figure's rows (embedded as JSON next to its chart, the
   same rows as the table below it and the CSV) with the vendored ECharts. No inline script:
   the page's Content-Security-Policy forbids it. */
(function () {
  "use strict";

  function word(spec, value) {
    if (value === null || value === undefined) { return "–"; }
    var found = spec.words[String(value)];
    return found === undefined ? String(value) : found;
  }

  function unique(values) {
    var seen = [];
    values.forEach(function (v) { if (seen.indexOf(v) < 0) { seen.push(v); } });
    return seen;
  }

  function seriesKey(spec, row) {
    return spec.dimensions.slice(1).map(function (d) { return row[d]; }).join(" · ");
  }

  function seriesName(spec, row) {
    return spec.dimensions.slice(1).map(function (d) { return word(spec, row[d]); }).join(" · ");
  }

  function option(spec) {
    var rows = spec.rows;
    var dims = spec.dimensions;
    var kind = spec.chart;
    var base = {
      animation: false,
      tooltip: { trigger: kind === "pie" || kind === "gauge" ? "item" : "axis" },
      grid: { left: 8, right: 16, bottom: 8, top: 48, containLabel: true }
    };
    if (kind === "pie") {
      base.legend = { type: "scroll", top: 0 };
      base.series = [{
        type: "pie",
        radius: ["35%", "65%"],
        top: 32,
        data: rows.map(function (r) {
          var name = dims.map(function (d) { return word(spec, r[d]); }).join(" · ");
          return { name: name || spec.title, value: r.value };
        })
      }];
      return base;
    }
    if (kind === "gauge") {
      var value = rows.length ? rows[0].value : 0;
      var max = spec.unit === "percent" ? 100 : Math.max(spec.target || 0, value || 0) * 1.25 || 1;
      base.series = [{
        type: "gauge",
        min: 0,
        max: max,
        progress: { show: true },
        detail: { formatter: spec.unit === "percent" ? "{value} %" : "{value}", fontSize: 20 },
        data: [{ value: value, name: spec.target !== null ? spec.target_label + " " + spec.target : "" }]
      }];
      return base;
    }
    var type = kind === "line" ? "line" : "bar";
    var xs = dims.length ? unique(rows.map(function (r) { return r[dims[0]]; })) : [spec.title];
    var series;
    if (dims.length > 1) {
      var keys = unique(rows.map(function (r) { return seriesKey(spec, r); }));
      series = keys.map(function (key) {
        var mine = rows.filter(function (r) { return seriesKey(spec, r) === key; });
        return {
          name: seriesName(spec, mine[0]),
          type: type,
          stack: kind === "stacked_bar" ? "total" : undefined,
          data: xs.map(function (x) {
            var hit = mine.filter(function (r) { return r[dims[0]] === x; });
            return hit.length ? hit[0].value : null;
          })
        };
      });
      base.legend = { type: "scroll", top: 0 };
    } else {
      series = [{
        name: spec.title,
        type: type,
        data: dims.length
          ? xs.map(function (x) {
            var hit = rows.filter(function (r) { return r[dims[0]] === x; });
            return hit.length ? hit[0].value : null;
          })
          : [rows[0].value]
      }];
    }
    if (spec.target !== null && series.length) {
      series[0].markLine = {
        symbol: "none",
        label: { formatter: spec.target_label + " {c}" },
        data: [{ yAxis: spec.target }]
      };
    }
    base.xAxis = {
      type: "category",
      data: xs.map(function (x) { return dims.length ? word(spec, x) : x; }),
      axisLabel: { interval: 0, rotate: xs.length > 6 ? 35 : 0 }
    };
    base.yAxis = { type: "value" };
    base.series = series;
    return base;
  }

  var charts = [];
  document.querySelectorAll(".chart[data-source]").forEach(function (el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    var spec = JSON.parse(source.textContent);
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option(spec));
    el.setAttribute("data-rendered", "true");
    el.setAttribute("data-rows", String(spec.rows.length));
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
}());
