/* Usage dashboard: draws the charts from the JSON the page embeds (no requests of its own). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var form = document.getElementById("dashboard-filters");
  form.querySelectorAll("select").forEach(function (select) {
    select.addEventListener("change", function () { form.submit(); });
  });
  if (typeof Chart === "undefined") { return; }

  var css = getComputedStyle(document.documentElement);
  var fg = css.getPropertyValue("--body-quiet-color").trim() || "#666";
  var grid = css.getPropertyValue("--hairline-color").trim() || "#e8e8e8";
  Chart.defaults.color = fg;
  Chart.defaults.borderColor = grid;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;

  var hourly = data.bucket === "hour";
  var labels = data.series.labels.map(function (label) {
    if (!hourly) { return label.slice(5); }
    var d = new Date(label);
    var hh = String(d.getUTCHours()).padStart(2, "0") + ":00";
    return data.series.labels.length > 30 ? label.slice(5, 10) + " " + hh : hh;
  });
  var palette = ["#1976d2", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#455a64"];

  function chart(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }

  chart("chart-requests", {
    type: "bar",
    data: { labels: labels, datasets: [
      { label: "requests", data: data.series.requests, backgroundColor: "#1976d2" },
      { label: "errors", data: data.series.errors, backgroundColor: "#c62828" }
    ] },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  chart("chart-tokens", {
    type: "bar",
    data: { labels: labels, datasets: [
      { label: "input", data: data.series.input_tokens, backgroundColor: "#00838f", stack: "t" },
      { label: "output", data: data.series.output_tokens, backgroundColor: "#ef6c00", stack: "t" }
    ] },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
  });
  chart("chart-cost", {
    type: "line",
    data: { labels: labels, datasets: [
      { label: "USD", data: data.series.cost_usd, borderColor: "#2e7d32", backgroundColor: "rgba(46,125,50,0.15)", fill: true, tension: 0.2 }
    ] },
    options: { scales: { y: { beginAtZero: true } } }
  });
  chart("chart-error-rate", {
    type: "line",
    data: { labels: labels, datasets: [
      { label: "% errors", data: data.series.error_rate, borderColor: "#c62828", backgroundColor: "rgba(198,40,40,0.12)", fill: true, tension: 0.2 }
    ] },
    options: { scales: { y: { beginAtZero: true, suggestedMax: 5 } } }
  });

  function breakdown(id, rows) {
    rows = rows.slice(0, 12);
    chart(id, {
      type: "bar",
      data: { labels: rows.map(function (r) { return r.key || "(none)"; }), datasets: [
        { label: "requests", data: rows.map(function (r) { return r.requests; }),
          backgroundColor: rows.map(function (_, i) { return palette[i % palette.length]; }), maxBarThickness: 26 }
      ] },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  breakdown("chart-backend", data.by_backend);
  breakdown("chart-model", data.by_model);
})();
