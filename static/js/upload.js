// Drag and drop onto an image upload field (.dropzone holding an <input type="file">).
// A static file: the Content-Security-Policy runs no inline script. Without it the file
// input still works, and browsers accept a drop on the input itself.
"use strict";
document.querySelectorAll(".dropzone").forEach(function (zone) {
  var input = zone.querySelector("input[type=file]");
  if (!input) { return; }
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
});
