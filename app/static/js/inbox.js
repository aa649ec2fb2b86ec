// Inbox: keyboard shortcuts (j/k move, c claim, Enter open, / search) and live queue counts.
(function () {
  "use strict";
  var list = document.getElementById("task-list");
  var rows = list ? Array.prototype.slice.call(list.querySelectorAll("li.task-row")) : [];
  var current = -1;

  function select(index) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("selected", i === current); });
    rows[current].scrollIntoView({ block: "nearest" });
    rows[current].setAttribute("aria-selected", "true");
  }

  function open(row) { if (row) window.location.href = row.dataset.url; }

  function claim(row) {
    if (!row) return;
    var form = document.getElementById("claim-form");
    form.action = row.dataset.claimUrl;
    form.submit();
  }

  rows.forEach(function (row, i) {
    row.addEventListener("click", function (event) {
      if (event.target.closest("a, button")) return;
      select(i);
      open(row);
    });
  });

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key === "j") { select(current + 1); event.preventDefault(); }
    else if (event.key === "k") { select(current < 0 ? 0 : current - 1); event.preventDefault(); }
    else if (event.key === "Enter" && current >= 0) { open(rows[current]); event.preventDefault(); }
    else if (event.key === "c" && current >= 0) { claim(rows[current]); event.preventDefault(); }
    else if (event.key === "/") {
      var search = document.getElementById("inbox-search");
      if (search) { search.focus(); search.select(); event.preventDefault(); }
    }
  });

  // Live counts: refresh the tab badges every 15 s while the page is visible.
  var tabs = document.getElementById("queue-tabs");
  if (!tabs || !window.fetch) return;
  function refresh() {
    if (document.hidden) return;
    fetch(tabs.dataset.countsUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        tabs.querySelectorAll("[data-count-for]").forEach(function (badge) {
          var queue = badge.dataset.countFor;
          var value = queue === "" ? body.total : body.queues[queue];
          if (value !== undefined && String(value) !== badge.textContent) {
            badge.textContent = value;
            badge.animate && badge.animate([{ transform: "scale(1.3)" }, { transform: "scale(1)" }], 300);
          }
        });
      })
      .catch(function () { /* offline for a moment: try again on the next tick */ });
  }
  setInterval(refresh, 15000);
  document.addEventListener("visibilitychange", refresh);
})();
