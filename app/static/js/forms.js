// Form editor: JSON Schema + UI schema text, a live preview rendered by the server (the same
// renderer as the task page), "add a field" helper and deployment of the form files.
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("forms-i18n").textContent);
  var csrf = document.getElementById("csrf").value;
  var schemaBox = document.getElementById("schema-editor");
  var uiBox = document.getElementById("ui-editor");
  var preview = document.getElementById("preview");
  var timer = null;

  function parse(box, statusId, allowEmpty) {
    var status = document.getElementById(statusId);
    var text = box.value.trim();
    if (!text && allowEmpty) { status.textContent = ""; return {}; }
    try {
      var value = JSON.parse(text);
      status.textContent = "✓ " + T.ok;
      status.className = "editor-status muted";
      return value;
    } catch (error) {
      status.textContent = T.invalidJson + ": " + error.message;
      status.className = "editor-status error";
      return null;
    }
  }

  function refresh() {
    var schema = parse(schemaBox, "schema-status", false);
    var ui = parse(uiBox, "ui-status", true);
    if (!schema || ui === null) return;
    fetch("/modeler/forms/preview", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ schema: schema, uiSchema: ui })
    }).then(function (r) { return r.text().then(function (html) { return { ok: r.ok, html: html }; }); })
      .then(function (result) { if (result.ok) { preview.innerHTML = result.html; preview.dataset.rendered = "true"; } });
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 350); }
  schemaBox.addEventListener("input", later);
  uiBox.addEventListener("input", later);
  [schemaBox, uiBox].forEach(function (box) {
    box.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") return;
      event.preventDefault();
      var start = box.selectionStart;
      box.setRangeText("  ", start, box.selectionEnd, "end");
      later();
    });
  });

  document.getElementById("add-field").addEventListener("click", function () {
    var schema = parse(schemaBox, "schema-status", false);
    var name = document.getElementById("new-name").value.trim().replace(/\W+/g, "_");
    if (!schema || !name) return;
    var title = document.getElementById("new-title").value.trim() || name;
    var type = document.getElementById("new-type").value;
    var prop = { type: type, title: title };
    var ui = parse(uiBox, "ui-status", true) || {};
    if (type === "textarea") { prop.type = "string"; ui[name] = { "ui:widget": "textarea" }; }
    if (type === "date") { prop.type = "string"; prop.format = "date"; }
    if (type === "enum") { prop.type = "string"; prop["enum"] = ["a", "b"]; prop.enumNames = [T.choiceA, T.choiceB]; }
    schema.type = "object";
    schema.properties = schema.properties || {};
    schema.properties[name] = prop;
    if (document.getElementById("new-required").checked) {
      schema.required = (schema.required || []).filter(function (n) { return n !== name; }).concat([name]);
    }
    if (Array.isArray(ui["ui:order"]) && ui["ui:order"].indexOf(name) < 0) ui["ui:order"].push(name);
    schemaBox.value = JSON.stringify(schema, null, 2);
    uiBox.value = JSON.stringify(ui, null, 2);
    document.getElementById("new-name").value = "";
    document.getElementById("new-title").value = "";
    refresh();
  });

  document.getElementById("deploy-form").addEventListener("click", function () {
    var status = document.getElementById("deploy-status");
    var key = document.getElementById("form-key").value.trim();
    var schema = parse(schemaBox, "schema-status", false);
    var ui = parse(uiBox, "ui-status", true);
    if (!key || !schema || ui === null) return;
    var files = [{ name: key + ".schema.json", content: JSON.stringify(schema, null, 2) }];
    if (Object.keys(ui).length) files.push({ name: key + ".uischema.json", content: JSON.stringify(ui, null, 2) });
    status.textContent = T.deploying;
    status.className = "small muted";
    fetch("/modeler/deploy", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ files: files })
    }).then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (result) {
        if (result.ok) { window.location.href = "/modeler/forms/" + encodeURIComponent(key); return; }
        status.className = "small error";
        status.textContent = T.failed + ": " + (result.body.detail || "") + " " +
          (result.body.errors || []).map(function (e) { return (e.file || e.field || "") + " " + e.message; }).join("; ");
      });
  });

  refresh();
})();
