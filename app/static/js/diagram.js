// Read-only BPMN diagrams (bpmn-js navigated viewer): markers for active / completed / failed elements
// and per-element counters as overlays. Configured by data attributes of each .diagram[data-xml-url].
(function () {
  "use strict";

  function parse(value) {
    try { return value ? JSON.parse(value) : null; } catch (e) { return null; }
  }

  function badge(counts) {
    var html = '<div class="count-overlay">';
    [["active", "c-active"], ["completed", "c-completed"], ["incidents", "c-incidents"]].forEach(function (pair) {
      if (counts[pair[0]]) html += '<span class="' + pair[1] + '" title="' + pair[0] + '">' + counts[pair[0]] + "</span>";
    });
    return html + "</div>";
  }

  function show(container) {
    var viewer = new window.BpmnJS({ container: container });
    container.guichetViewer = viewer;
    fetch(container.dataset.xmlUrl, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        var overlays = viewer.get("overlays");
        var known = function (id) { return !!registry.get(id); };
        var active = parse(container.dataset.active) || [];
        var failed = parse(container.dataset.failed) || [];
        (parse(container.dataset.completed) || []).forEach(function (id) {
          if (known(id) && active.indexOf(id) < 0 && failed.indexOf(id) < 0) canvas.addMarker(id, "completed");
        });
        active.forEach(function (id) { if (known(id)) canvas.addMarker(id, "active"); });
        failed.forEach(function (id) { if (known(id)) canvas.addMarker(id, "failed"); });
        (parse(container.dataset.counts) || []).forEach(function (c) {
          if (known(c.elementId) && (c.active || c.completed || c.incidents)) {
            overlays.add(c.elementId, "counts", { position: { top: -11, right: 14 }, html: badge(c) });
          }
        });
        canvas.zoom("fit-viewport", "auto");
        if (canvas.zoom() > 1.1) canvas.zoom(1.1, "auto");
        container.dataset.diagramReady = "true";
      })
      .catch(function (error) {
        container.innerHTML = '<div class="diagram-error">' + (container.dataset.errorText || "Diagram unavailable") +
          " (" + String(error.message || error).replace(/</g, "&lt;") + ")</div>";
        container.dataset.diagramReady = "error";
      });
  }

  function init() {
    if (!window.BpmnJS) return;
    document.querySelectorAll(".diagram[data-xml-url]").forEach(show);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
