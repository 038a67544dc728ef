// 党建工作后台: sortable tables, rows that open a branch, the organisation search, and the
// charts (Chart.js, served from /admin/static/vendor). No inline script: the page's CSP allows
// only these files. Every page works without this file; it only makes them quicker to use.
(function () {
  "use strict";

  // ---- tables: sort by a header, open a branch from its row --------------------------------

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

  document.querySelectorAll("tr[data-href]").forEach(function (row) {
    row.addEventListener("click", function (event) {
      if (event.target.closest("a, button")) return; // a link in the row goes where it says
      window.location.href = row.getAttribute("data-href");
    });
  });

  // The month-by-month lights: show the latest months first on a narrow screen.
  document.querySelectorAll(".scroll-end").forEach(function (box) {
    box.scrollLeft = box.scrollWidth;
  });

  // ---- the organisation search: matches listed under the box as one types ------------------

  var picker = document.getElementById("picker");
  if (picker) {
    var box = picker.querySelector("input[name=q]");
    var list = document.getElementById("picker-list");
    var timer = null;
    var asked = 0;

    var show = function (items, total) {
      list.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        var a = document.createElement("a");
        a.href = item.href;
        a.textContent = item.name;
        var where = document.createElement("span");
        where.className = "muted";
        where.textContent = item.kind + (item.within ? " · " + item.within : "");
        a.appendChild(where);
        li.appendChild(a);
        list.appendChild(li);
      });
      if (!items.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = "没有找到这个组织";
        list.appendChild(none);
      } else if (total > items.length) {
        var more = document.createElement("li");
        more.className = "muted";
        more.textContent = "共 " + total + " 个，请输入更多字缩小范围";
        list.appendChild(more);
      }
      list.hidden = false;
    };

    var ask = function () {
      var q = box.value.trim();
      if (!q) { list.hidden = true; return; }
      var params = new URLSearchParams(new FormData(picker));
      var mine = ++asked;
      fetch("/admin/orgs.json?" + params.toString(), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && mine === asked) show(data.items, data.total);
        })
        .catch(function () { /* the 查找 button still works */ });
    };

    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        var first = list.querySelector("a");
        if (first) { event.preventDefault(); first.focus(); }
      } else if (event.key === "Escape") {
        list.hidden = true;
      }
    });
    list.addEventListener("keydown", function (event) {
      var links = Array.prototype.slice.call(list.querySelectorAll("a"));
      var at = links.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && at < links.length - 1) {
        event.preventDefault(); links[at + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (at > 0) links[at - 1].focus(); else box.focus();
      } else if (event.key === "Escape") {
        list.hidden = true; box.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (!picker.contains(event.target)) list.hidden = true;
    });
  }

  // ---- wide tables: say they scroll -----------------------------------------------------------

  // On a phone a wide table scrolls inside its box and its last columns are out of sight, with
  // nothing to show they are there: a line above such a table says so, and goes once seen.
  document.querySelectorAll(".table-box").forEach(function (boxed) {
    if (boxed.scrollWidth <= boxed.clientWidth + 1) return;
    var hint = document.createElement("p");
    hint.className = "swipe-hint";
    hint.textContent = "表格较宽，左右滑动可看其余各列 →";
    boxed.parentNode.insertBefore(hint, boxed);
    boxed.addEventListener("scroll", function () {
      if (boxed.scrollLeft + boxed.clientWidth >= boxed.scrollWidth - 2) hint.hidden = true;
    }, { passive: true });
  });

  // ---- charts ------------------------------------------------------------------------------

  var node = document.getElementById("chart-data");
  if (!node || !window.Chart) {
    document.body.setAttribute("data-charts", "none");
    return;
  }
  var data = JSON.parse(node.textContent);
  var RED = "rgba(183, 28, 28, 0.75)";
  var AMBER = "#e08e00";

  // Organised study by month (bars) and the attendance rate (a line: months are a time).
  // No axis titles: the legend names each series and the right axis reads "80%", so nothing
  // is written sideways.
  var months = document.getElementById("chart-months");
  if (months && data.months) {
    new window.Chart(months, {
      data: {
        labels: data.months.labels,
        datasets: [
          { type: "bar", label: "组织党员学习（人次）", data: data.months.study, yAxisID: "y",
            backgroundColor: RED, order: 2 },
          { type: "line", label: "出勤率（%）", data: data.months.attendance, yAxisID: "rate",
            borderColor: AMBER, backgroundColor: AMBER, spanGaps: true, order: 1 }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { labels: { sort: function (a, b) {
          return a.datasetIndex - b.datasetIndex; } } } },
        scales: {
          x: { ticks: { maxRotation: 0 } },
          y: { beginAtZero: true, position: "left", ticks: { precision: 0 } },
          rate: { min: 0, max: 100, position: "right", grid: { drawOnChartArea: false },
                  ticks: { callback: function (v) { return v + "%"; } } }
        }
      }
    });
  }

  // Organised study by branch: horizontal bars, most first, every branch named on the axis.
  var branches = document.getElementById("chart-branches");
  if (branches && data.branches) {
    var holder = branches.parentNode;
    holder.style.height = Math.max(160, data.branches.labels.length * 22 + 60) + "px";
    new window.Chart(branches, {
      type: "bar",
      data: {
        labels: data.branches.labels,
        datasets: [{ label: "组织党员学习（人次）", data: data.branches.study,
                     backgroundColor: RED, maxBarThickness: 18 }]
      },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { beginAtZero: true, position: "top", ticks: { precision: 0 } },
          y: { ticks: { autoSkip: false } }
        }
      }
    });
  }
  document.body.setAttribute("data-charts", "ready");
})();
