// 党建工作后台: sortable tables, the organisation switcher, and the two charts (Chart.js,
// served from /admin/static/vendor). No inline script: the page's CSP allows only these files.
(function () {
  "use strict";

  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell ? cell.getAttribute("data-value") : "";
    if (raw === null) raw = cell.textContent.trim();
    if (!numeric) return raw;
    return raw === "" ? -Infinity : Number(raw);
  }

  function sortBy(table, th) {
    var index = th.cellIndex;
    var numeric = th.getAttribute("data-sort") === "number";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[data-sort]").forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric);
      var y = cellValue(b, index, numeric);
      var order = numeric ? x - y : String(x).localeCompare(String(y), "zh-CN");
      if (numeric && x === y) order = 0;
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.addEventListener("click", function () { sortBy(table, th); });
    });
  });

  var org = document.getElementById("org");
  if (org) {
    org.addEventListener("change", function () { org.form.submit(); });
  }

  var node = document.getElementById("chart-data");
  if (!node || !window.Chart) return;
  var data = JSON.parse(node.textContent);

  function draw(id, series) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    new window.Chart(canvas, {
      data: {
        labels: series.labels,
        datasets: [
          { type: "bar", label: "学习人次", data: series.study, yAxisID: "y",
            backgroundColor: "rgba(183, 28, 28, 0.7)" },
          { type: "line", label: "出勤率（%）", data: series.attendance, yAxisID: "rate",
            borderColor: "#f9a825", backgroundColor: "#f9a825", spanGaps: true }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: {
          y: { beginAtZero: true, position: "left", title: { display: true, text: "人次" } },
          rate: { min: 0, max: 100, position: "right", grid: { drawOnChartArea: false },
                  title: { display: true, text: "出勤率 %" } }
        }
      }
    });
  }

  draw("chart-months", data.months);
  draw("chart-branches", data.branches);
  document.body.setAttribute("data-charts", "ready");
})();
