// Analyst modeler: bpmn-js with a side panel for Guichet's extension properties (queue, form, topic,
// priority, dueIn, scripts), server-side Validate (errors drawn on the elements), Deploy, and a
// multi-file deployment dialog with upload progress.
//
// The spiffworkflow extension elements are handled as generic moddle elements (no descriptor is
// registered for their namespace), so that every spiff element a diagram already carries is kept
// as it is when the diagram is saved again.
(function () {
  "use strict";
  var SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var T = JSON.parse(document.getElementById("modeler-i18n").textContent);
  var csrf = document.getElementById("csrf").value;
  var container = document.getElementById("canvas");
  var panel = document.getElementById("side-panel");
  var statusBox = document.getElementById("status");
  var dirty = false;

  var BLANK = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
    'xmlns:spiffworkflow="' + SPIFF + '" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">\n' +
    '  <bpmn:process id="new_process" name="New process" isExecutable="true">\n' +
    '    <bpmn:startEvent id="StartEvent_1" name="Start" />\n' +
    '  </bpmn:process>\n' +
    '  <bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="new_process">\n' +
    '    <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1"><dc:Bounds x="180" y="160" width="36" height="36" />' +
    '</bpmndi:BPMNShape>\n  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n';

  var modeler = new window.BpmnJS({ container: container });
  window.guichetModeler = modeler;
  var modeling = modeler.get("modeling");
  var moddle = modeler.get("moddle");
  var canvas = modeler.get("canvas");
  var registry = modeler.get("elementRegistry");
  var overlays = modeler.get("overlays");
  var selected = null;

  function escapeHtml(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function is(bo, type) { return bo && typeof bo.$instanceOf === "function" && bo.$instanceOf(type); }
  function setDirty(value) {
    dirty = value;
    document.getElementById("dirty-badge").hidden = !value;
  }

  // ---- the process (root) ----------------------------------------------------------------------
  function rootProcess() {
    var root = canvas.getRootElement();
    var bo = root && root.businessObject;
    if (is(bo, "bpmn:Collaboration")) {
      var participant = (bo.participants || [])[0];
      return { element: participant ? registry.get(participant.id) : root, bo: participant && participant.processRef };
    }
    return { element: root, bo: bo };
  }

  // ---- spiffworkflow extension elements (generic) ----------------------------------------------
  function extensionValues(bo) { return (bo.extensionElements && bo.extensionElements.values) || []; }
  function findExtension(bo, localName) {
    return extensionValues(bo).filter(function (v) { return v.$type === "spiffworkflow:" + localName; })[0];
  }
  function ensureExtensions(bo) {
    if (!bo.extensionElements) {
      bo.extensionElements = moddle.create("bpmn:ExtensionElements", { values: [] });
      bo.extensionElements.$parent = bo;
    }
    if (!bo.extensionElements.values) bo.extensionElements.values = [];
    return bo.extensionElements;
  }
  function dropEmptyExtensions(bo) {
    if (bo.extensionElements && !(bo.extensionElements.values || []).length) bo.extensionElements = undefined;
  }
  function getProperty(bo, name) {
    var props = findExtension(bo, "properties");
    var found = props && (props.$children || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value : "";
  }
  function setProperty(bo, name, value) {
    var props = findExtension(bo, "properties");
    if (!props) {
      if (!value) return;
      props = moddle.createAny("spiffworkflow:properties", SPIFF, { $children: [] });
      ensureExtensions(bo).values.push(props);
    }
    props.$children = props.$children || [];
    var existing = props.$children.filter(function (p) { return p.name === name; })[0];
    if (!value) {
      props.$children = props.$children.filter(function (p) { return p !== existing; });
      if (!props.$children.length) {
        bo.extensionElements.values = bo.extensionElements.values.filter(function (v) { return v !== props; });
        dropEmptyExtensions(bo);
      }
    } else if (existing) {
      existing.value = value;
    } else {
      props.$children.push(moddle.createAny("spiffworkflow:property", SPIFF, { name: name, value: value }));
    }
    setDirty(true);
  }
  function getBody(bo, localName) {
    var node = findExtension(bo, localName);
    return node ? (node.$body || "") : "";
  }
  function setBody(bo, localName, value) {
    var node = findExtension(bo, localName);
    if (!value) {
      if (node) {
        bo.extensionElements.values = bo.extensionElements.values.filter(function (v) { return v !== node; });
        dropEmptyExtensions(bo);
      }
    } else if (node) {
      node.$body = value;
    } else {
      ensureExtensions(bo).values.push(moddle.createAny("spiffworkflow:" + localName, SPIFF, { $body: value }));
    }
    setDirty(true);
  }

  // ---- side panel ------------------------------------------------------------------------------
  function input(id, label, value, hint, options) {
    options = options || {};
    var attrs = 'id="' + id + '" value="' + escapeHtml(value) + '"' + (options.list ? ' list="' + options.list + '"' : "") +
      (options.type ? ' type="' + options.type + '"' : "") + (options.placeholder ? ' placeholder="' + escapeHtml(options.placeholder) + '"' : "");
    return "<label>" + escapeHtml(label) + (hint ? ' <span class="hint">' + escapeHtml(hint) + "</span>" : "") +
      "<input " + attrs + "></label>";
  }
  function area(id, label, value, hint) {
    return "<label>" + escapeHtml(label) + (hint ? ' <span class="hint">' + escapeHtml(hint) + "</span>" : "") +
      '<textarea id="' + id + '" spellcheck="false">' + escapeHtml(value) + "</textarea></label>";
  }
  function group(title) { return '<div class="group-title">' + escapeHtml(title) + "</div>"; }

  function typeLabel(bo) { return bo.$type.replace("bpmn:", "").replace(/([a-z])([A-Z])/g, "$1 $2"); }

  function bind(id, handler) {
    var field = document.getElementById(id);
    if (field) field.addEventListener("change", function () { handler(field.value.trim ? field.value : field.value); });
  }

  function renderPanel() {
    var element = selected;
    var html = "";
    if (!element || element === canvas.getRootElement()) {
      var root = rootProcess();
      if (!root.bo) { panel.innerHTML = '<p class="muted">' + escapeHtml(T.nothing) + "</p>"; return; }
      html += "<h2>" + escapeHtml(T.process) + '</h2><div class="element-type">' + escapeHtml(root.bo.name || root.bo.id) + "</div>";
      html += input("prop-process-id", T.processId, root.bo.id) + input("prop-process-name", T.name, root.bo.name || "");
      html += input("prop-searchable", T.searchable, getProperty(root.bo, "searchableVariables"), T.searchableHint);
      html += '<p class="muted small">' + escapeHtml(T.nothing) + "</p>";
      panel.innerHTML = html;
      bind("prop-process-id", function (v) { if (v.trim()) { modeling.updateModdleProperties(root.element, root.bo, { id: v.trim() }); } });
      bind("prop-process-name", function (v) { modeling.updateModdleProperties(root.element, root.bo, { name: v }); });
      bind("prop-searchable", function (v) { setProperty(root.bo, "searchableVariables", v.trim()); });
      return;
    }
    var bo = element.businessObject;
    html += "<h2>" + escapeHtml(bo.name || bo.id) + '</h2><div class="element-type">' + escapeHtml(typeLabel(bo)) + "</div>";
    html += input("prop-id", T.id, bo.id) + input("prop-name", T.name, bo.name || "");
    if (is(bo, "bpmn:Lane")) html += '<p class="muted small">' + escapeHtml(T.laneHint) + "</p>";
    if (is(bo, "bpmn:UserTask") || is(bo, "bpmn:ManualTask")) {
      html += group(T.routing) + input("prop-queue", T.queue, getProperty(bo, "queue"), T.queueHint);
      html += input("prop-priority", T.priority, getProperty(bo, "priority"), T.priorityHint, { type: "number" });
      html += input("prop-dueIn", T.dueIn, getProperty(bo, "dueIn"), T.dueHint, { placeholder: "P2D" });
      html += group(T.form) + input("prop-formJsonSchemaFilename", T.formFile, getProperty(bo, "formJsonSchemaFilename"), T.formHint, { list: "form-files" });
      html += input("prop-formUiSchemaFilename", T.uiFile, getProperty(bo, "formUiSchemaFilename"));
    }
    if (is(bo, "bpmn:ServiceTask") || is(bo, "bpmn:SendTask") || is(bo, "bpmn:BusinessRuleTask")) {
      html += group(T.worker) + input("prop-topic", T.topic, getProperty(bo, "topic"), T.topicHint);
      html += input("prop-retries", T.retries, getProperty(bo, "retries"), "", { type: "number" });
    }
    if (is(bo, "bpmn:ScriptTask")) html += group(T.script) + area("prop-script", T.script, bo.script || "");
    if (is(bo, "bpmn:Activity")) {
      html += group(T.scripts) + area("prop-preScript", T.preScript, getBody(bo, "preScript"));
      html += area("prop-postScript", T.postScript, getBody(bo, "postScript"));
    }
    if (is(bo, "bpmn:SequenceFlow") && bo.sourceRef && is(bo.sourceRef, "bpmn:Gateway")) {
      html += group(T.condition) + area("prop-condition", T.condition, (bo.conditionExpression && bo.conditionExpression.body) || "", T.conditionHint);
    }
    if (is(bo, "bpmn:Participant") && bo.processRef) {
      html += group(T.process) + input("prop-process-id", T.processId, bo.processRef.id);
      html += input("prop-searchable", T.searchable, getProperty(bo.processRef, "searchableVariables"), T.searchableHint);
    }
    panel.innerHTML = html;

    bind("prop-id", function (v) { if (v.trim()) modeling.updateProperties(element, { id: v.trim() }); });
    bind("prop-name", function (v) {
      if (element.label || is(bo, "bpmn:FlowNode") || is(bo, "bpmn:Participant") || is(bo, "bpmn:Lane") || is(bo, "bpmn:SequenceFlow")) {
        modeling.updateLabel(element, v);
      } else {
        modeling.updateProperties(element, { name: v });
      }
    });
    ["queue", "priority", "dueIn", "formJsonSchemaFilename", "formUiSchemaFilename", "topic", "retries"].forEach(function (name) {
      bind("prop-" + name, function (v) { setProperty(bo, name, v.trim()); });
    });
    bind("prop-script", function (v) { modeling.updateProperties(element, { script: v, scriptFormat: bo.scriptFormat || "python" }); });
    bind("prop-preScript", function (v) { setBody(bo, "preScript", v); });
    bind("prop-postScript", function (v) { setBody(bo, "postScript", v); });
    bind("prop-condition", function (v) {
      modeling.updateProperties(element, {
        conditionExpression: v.trim() ? moddle.create("bpmn:FormalExpression", { body: v.trim() }) : undefined
      });
    });
    if (is(bo, "bpmn:Participant") && bo.processRef) {
      bind("prop-process-id", function (v) { if (v.trim()) modeling.updateModdleProperties(element, bo.processRef, { id: v.trim() }); });
      bind("prop-searchable", function (v) { setProperty(bo.processRef, "searchableVariables", v.trim()); });
    }
  }

  modeler.on("selection.changed", function (event) {
    selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
    renderPanel();
  });
  modeler.on("commandStack.changed", function () {
    setDirty(true);
    var focused = document.activeElement;
    if (!focused || !panel.contains(focused)) renderPanel();
  });

  // ---- status area and server errors on elements -----------------------------------------------
  function clearErrors() {
    overlays.remove({ type: "validation" });
    registry.getAll().forEach(function (element) { canvas.removeMarker(element, "has-error"); });
  }
  function showStatus(kind, html) {
    statusBox.innerHTML = '<div class="' + (kind ? "alert " + kind : "") + '" style="margin:0">' + html + "</div>";
  }
  function showErrors(problem) {
    clearErrors();
    var items = (problem.errors || []).map(function (error) {
      var id = error.elementId;
      if (id && registry.get(id)) {
        canvas.addMarker(id, "has-error");
        overlays.add(id, "validation", {
          position: { bottom: -6, left: 0 },
          html: '<div class="error-overlay" data-error-element="' + escapeHtml(id) + '">' + escapeHtml(error.message) + "</div>"
        });
        return '<li><a data-goto="' + escapeHtml(id) + '">' + escapeHtml(id) + "</a>: " + escapeHtml(error.message) + "</li>";
      }
      return "<li>" + escapeHtml([error.file, error.field, id].filter(Boolean).join(" ")) + (error.message ? ": " + escapeHtml(error.message) : "") + "</li>";
    });
    showStatus("error", "<strong>" + escapeHtml(T.invalid) + "</strong> " + escapeHtml(problem.detail || "") +
      (items.length ? "<ul>" + items.join("") + "</ul>" : ""));
    statusBox.querySelectorAll("[data-goto]").forEach(function (link) {
      link.addEventListener("click", function () {
        var element = registry.get(link.dataset.goto);
        if (element) { modeler.get("selection").select(element); canvas.scrollToElement(element); }
      });
    });
  }

  function currentFiles() {
    return modeler.saveXML({ format: true }).then(function (result) {
      var process = rootProcess().bo;
      var name = ((process && process.id) || "process") + ".bpmn";
      return [{ name: name, content: result.xml }];
    });
  }

  function post(url, files) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ files: files })
    }).then(function (response) {
      return response.json().catch(function () { return { detail: response.statusText }; })
        .then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
    });
  }

  document.getElementById("validate-button").addEventListener("click", function () {
    showStatus("", escapeHtml(T.validating));
    currentFiles().then(function (files) { return post("/modeler/validate", files); }).then(function (result) {
      if (result.ok) { clearErrors(); showStatus("success", escapeHtml(T.valid)); }
      else showErrors(result.body);
    }).catch(function (error) { showStatus("error", escapeHtml(T.failed + ": " + error)); });
  });

  document.getElementById("deploy-button").addEventListener("click", function () {
    var button = this;
    button.disabled = true;
    showStatus("", escapeHtml(T.deploying));
    currentFiles().then(function (files) { return post("/modeler/deploy", files); }).then(function (result) {
      button.disabled = false;
      if (!result.ok) { showErrors(result.body); return; }
      clearErrors();
      var key = (rootProcess().bo || {}).id;
      var mine = (result.body.definitions || []).filter(function (d) { return d.key === key; })[0] || result.body.definitions[0];
      setDirty(false);
      if (mine) window.location.href = "/modeler/" + mine.id;
    }).catch(function (error) { button.disabled = false; showStatus("error", escapeHtml(T.failed + ": " + error)); });
  });

  document.getElementById("download-button").addEventListener("click", function () {
    currentFiles().then(function (files) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([files[0].content], { type: "application/xml" }));
      link.download = files[0].name;
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = T.leave; }
  });

  // ---- multi-file deployment with progress -------------------------------------------------------
  var dialog = document.getElementById("upload-dialog");
  var picker = document.getElementById("upload-files");
  var start = document.getElementById("upload-start");
  var bar = document.getElementById("upload-progress");
  var uploadStatus = document.getElementById("upload-status");
  document.getElementById("upload-open").addEventListener("click", function () { dialog.showModal(); });
  document.getElementById("upload-close").addEventListener("click", function () { dialog.close(); });
  picker.addEventListener("change", function () {
    var list = document.getElementById("upload-list");
    list.innerHTML = Array.prototype.map.call(picker.files, function (file) {
      return "<li><span>" + escapeHtml(file.name) + '</span><span class="muted">' + Math.ceil(file.size / 1024) + " KB</span></li>";
    }).join("");
    start.disabled = !picker.files.length;
    uploadStatus.textContent = "";
  });
  start.addEventListener("click", function () {
    var data = new FormData();
    Array.prototype.forEach.call(picker.files, function (file) { data.append("files", file, file.name); });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/modeler/deployments");
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    bar.classList.remove("indeterminate");
    start.disabled = true;
    xhr.upload.onprogress = function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.round(100 * event.loaded / event.total);
      bar.firstElementChild.style.width = percent + "%";
      uploadStatus.textContent = T.uploading + " " + percent + " %";
      if (event.loaded === event.total) { bar.classList.add("indeterminate"); uploadStatus.textContent = T.processing; }
    };
    xhr.onload = function () {
      bar.classList.remove("indeterminate");
      start.disabled = false;
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = { detail: xhr.statusText }; }
      if (xhr.status === 201) {
        bar.firstElementChild.style.width = "100%";
        uploadStatus.innerHTML = "<strong>" + escapeHtml(T.deployed) + ":</strong> " + (body.definitions || []).map(function (d) {
          return '<a href="/modeler/' + d.id + '">' + escapeHtml(d.key) + " v" + d.version + "</a>";
        }).join(", ");
        setTimeout(function () { if (!dirty) window.location.reload(); }, 1500);
      } else {
        bar.hidden = true;
        uploadStatus.innerHTML = '<span class="error">' + escapeHtml(body.detail || xhr.statusText) + "</span><ul>" +
          (body.errors || []).map(function (e) {
            return "<li>" + escapeHtml([e.file, e.elementId, e.field].filter(Boolean).join(" ") + ": " + e.message) + "</li>";
          }).join("") + "</ul>";
      }
    };
    xhr.onerror = function () { bar.hidden = true; start.disabled = false; uploadStatus.textContent = T.failed; };
    xhr.send(data);
  });

  // Fit the diagram in the canvas to the right of the palette (at most 100 %), centred vertically.
  function fitBesidePalette() {
    var box = canvas.viewbox();
    var inner = box.inner, outer = box.outer;
    if (!inner.width || !inner.height) return;
    var left = 140, pad = 24;
    var scale = Math.min(1, (outer.width - left - pad) / inner.width, (outer.height - 2 * pad) / inner.height);
    var width = outer.width / scale, height = outer.height / scale;
    var spare = width - inner.width - (left + pad) / scale;
    canvas.viewbox({
      x: inner.x - left / scale - Math.max(0, spare) / 2,
      y: inner.y - (height - inner.height) / 2,
      width: width, height: height
    });
  }

  // ---- load ------------------------------------------------------------------------------------
  var source = container.dataset.xmlUrl
    ? fetch(container.dataset.xmlUrl, { credentials: "same-origin" }).then(function (r) { return r.text(); })
    : Promise.resolve(BLANK);
  source.then(function (xml) { return modeler.importXML(xml); }).then(function (result) {
    if (result.warnings && result.warnings.length) console.warn("import warnings", result.warnings);
    fitBesidePalette();
    setDirty(false);
    renderPanel();
    container.dataset.modelerReady = "true";
  }).catch(function (error) {
    showStatus("error", escapeHtml(T.failed + ": " + (error.message || error)));
  });
})();
