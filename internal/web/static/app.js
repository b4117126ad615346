// Tidewatch: what every page shares. No inline script anywhere (the
// Content-Security-Policy forbids it): pages load these files.
"use strict";
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  window.tw = {
    csrf: meta ? meta.content : "",
    // announce says something to screen readers.
    announce(text) {
      const r = document.getElementById("live-region");
      if (r) { r.textContent = ""; setTimeout(() => { r.textContent = text; }, 50); }
    },
  };
})();
