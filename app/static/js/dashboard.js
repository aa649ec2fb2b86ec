// Dashboard charts (Chart.js): tasks per queue, cases started and completed per day.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  if (!window.Chart) return;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#5c6b7b";
  if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) Chart.defaults.animation = false;
  var grid = { color: "#edf0f4" };
  new Chart(document.getElementById("queue-chart"), {
    type: "bar",
    data: {
      labels: data.queues,
      datasets: [
        { label: data.labels.open, data: data.open, backgroundColor: "#5aa2f0", borderRadius: 4, maxBarThickness: 56 },
        { label: data.labels.overdue, data: data.overdue, backgroundColor: "#e0603f", borderRadius: 4, maxBarThickness: 56 }
      ]
    },
    options: { maintainAspectRatio: false, indexAxis: data.queues.length > 6 ? "y" : "x",
      scales: { x: { grid: grid, ticks: { precision: 0 } }, y: { grid: grid, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: "bottom" } } }
  });
  var days = data.days.map(function (d) {
    return new Date(d + "T00:00:00").toLocaleDateString(document.documentElement.lang, { day: "numeric", month: "short" });
  });
  new Chart(document.getElementById("day-chart"), {
    type: "line",
    data: {
      labels: days,
      datasets: [
        { label: data.labels.started, data: data.started, borderColor: "#0b5cad", backgroundColor: "rgba(11,92,173,.12)", fill: true, tension: .3 },
        { label: data.labels.completed, data: data.completed, borderColor: "#2f8f4e", backgroundColor: "rgba(47,143,78,.08)", fill: true, tension: .3 }
      ]
    },
    options: { maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
      scales: { x: { grid: grid }, y: { grid: grid, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: "bottom" } } }
  });
})();
