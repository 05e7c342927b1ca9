// Warn before leaving a page whose form (marked data-warn-unsaved) has changes not yet saved.
// A static file of our own: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  "use strict";
  var dirty = false;
  function watch(form) {
    var initial = new FormData(form);
    function changed() {
      var now = new FormData(form);
      for (var pair of now.entries()) {
        if (typeof pair[1] === "string" && initial.get(pair[0]) !== pair[1]) { return true; }
      }
      return false;
    }
    form.addEventListener("input", function () { dirty = changed(); });
    form.addEventListener("change", function () { dirty = changed(); });
    form.addEventListener("submit", function () { dirty = false; });
  }
  document.querySelectorAll("form[data-warn-unsaved]").forEach(watch);
  window.addEventListener("beforeunload", function (event) {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";  // older browsers need it set to show their prompt
    }
  });
})();
