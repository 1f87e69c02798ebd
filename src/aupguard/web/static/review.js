// aupguard reviewer UI: image reveal by a deliberate click, and keyboard shortcuts.
// No framework and no network calls: decisions are ordinary form posts.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var reveal = document.getElementById("reveal-image");
  if (reveal) {
    reveal.addEventListener("click", function () {
      var media = document.getElementById(reveal.dataset.target);
      if (!media) { return; }
      var blurred = media.classList.toggle("blurred");
      reveal.textContent = blurred ? "Show image" : "Blur image";
    });
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (event.key === "Escape" && (tag === "textarea" || tag === "input")) { target.blur(); return; }
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (event.key === "n") {
      var note = document.getElementById("reason");
      if (note) { event.preventDefault(); note.focus(); }
      return;
    }
    var button = document.querySelector('button[data-key="' + event.key + '"]');
    if (button && !button.disabled) {
      event.preventDefault();
      button.click();
    }
  });
});
