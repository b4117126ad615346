// The print view: the report in a frame, printed by the browser (Save as
// PDF makes the PDF).
"use strict";
(function () {
  const b = document.getElementById("print-report");
  const f = document.getElementById("report-frame");
  if (!b || !f) return;
  b.addEventListener("click", () => { f.contentWindow.focus(); f.contentWindow.print(); });
})();
