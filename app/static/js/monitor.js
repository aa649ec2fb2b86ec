// Instance list: bulk suspend / resume / cancel, one request per instance, with a progress bar.
(function () {
  "use strict";
  var table = document.getElementById("instance-table");
  var bar = document.getElementById("bulk-bar");
  if (!table || !bar) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var picks = function () { return Array.prototype.slice.call(table.querySelectorAll(".pick:checked")); };
  var progress = document.getElementById("bulk-progress");
  var status = document.getElementById("bulk-status");

  function update() {
    var n = picks().length;
    bar.hidden = n === 0;
    document.getElementById("bulk-count").textContent = n + " ✓";
  }
  table.addEventListener("change", update);
  document.getElementById("select-all").addEventListener("change", function (event) {
    table.querySelectorAll(".pick").forEach(function (box) { box.checked = event.target.checked; });
    update();
  });

  bar.querySelectorAll("[data-bulk]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
      var ids = picks().map(function (box) { return box.value; });
      var done = 0, ok = 0, failed = 0;
      progress.hidden = false;
      bar.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      var fill = progress.firstElementChild;
      function next() {
        if (done === ids.length) {
          status.textContent = status.dataset.done.replace("{ok}", ok).replace("{failed}", failed);
          bar.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
          return;
        }
        var id = ids[done];
        fetch("/monitor/instances/" + id + "/" + button.dataset.bulk, {
          method: "POST", credentials: "same-origin",
          headers: { "X-CSRFToken": csrf, Accept: "application/json" }
        }).then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
          .then(function (result) {
            var row = table.querySelector('tr[data-instance-id="' + id + '"] [data-status]');
            if (result.ok) { ok += 1; if (row) { row.textContent = result.body.status; row.className = "badge " + result.body.status; } }
            else failed += 1;
          })
          .catch(function () { failed += 1; })
          .then(function () {
            done += 1;
            fill.style.width = Math.round(100 * done / ids.length) + "%";
            status.textContent = done + " / " + ids.length;
            next();
          });
      }
      next();
    });
  });
})();
