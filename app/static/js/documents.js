// Case documents: "View" shows the original (PDF or image) in a viewer under the list.
document.addEventListener("click", function (event) {
  "use strict";
  var button = event.target.closest("[data-doc-view]");
  if (!button) return;
  var slot = button.closest("[data-doc-list]").nextElementSibling;
  var image = (button.dataset.docType || "").indexOf("image/") === 0;
  slot.innerHTML = image ? '<img class="doc-viewer" style="height:auto" alt="">' : '<iframe class="doc-viewer" title="document"></iframe>';
  slot.firstChild.src = button.dataset.docView;
});
