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
    // A total of 0 is not known (an ingest reads until its input ends):
    // the bar stays indeterminate and the count says what was read.
    const count = j.total > 0 ? j.done + " of " + j.total : j.done + " read";
    if (j.total > 0) { bar.max = j.total; bar.value = j.done; }
    bar.textContent = count;
    document.getElementById("job-count").textContent = count + (j.total > 0 ? " rows" : "");
    document.getElementById("job-state").textContent = j.state;
    if (j.state === "running") { setTimeout(tick, 400); return; }
    window.tw.announce("The job is " + j.state);
    location.reload();
  };
  setTimeout(tick, 300);
})();
