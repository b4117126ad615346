// Follows a background job's progress until it ends, then shows the
// results (the page reloads once with them).
"use strict";
(function () {
  const box = document.getElementById("job");
  if (!box || box.dataset.state !== "running") return;
  const id = box.dataset.id;
  const bar = document.getElementById("job-progress");
  const tick = async () => {
    let j;
    try {
      const r = await fetch("/jobs/" + encodeURIComponent(id) + "/status.json", { headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error("HTTP " + r.status);
      j = await r.json();
    } catch (e) { setTimeout(tick, 2000); return; }
    bar.max = Math.max(j.total, 1); bar.value = j.done; bar.textContent = j.done + " of " + j.total;
    document.getElementById("job-done").textContent = j.done;
    document.getElementById("job-total").textContent = j.total;
    document.getElementById("job-state").textContent = j.state;
    if (j.state === "running") { setTimeout(tick, 400); return; }
    window.tw.announce("The job is " + j.state);
    location.reload();
  };
  setTimeout(tick, 300);
})();
