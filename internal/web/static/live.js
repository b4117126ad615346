// Live alerts over server-sent events: the inbox and the dashboard add
// new alerts and update changed ones as the server raises them.
"use strict";
(function () {
  if (!window.EventSource) return;
  const table = document.querySelector('[data-live="table"] tbody');
  const list = document.querySelector('[data-live="list"]');
  const badge = document.getElementById("live-count");
  const status = document.getElementById("live-status");
  let fresh = 0;
  const src = new EventSource("/alerts/stream");
  src.addEventListener("open", () => { if (status) status.textContent = "Live: new alerts appear here as they are raised."; });
  src.addEventListener("error", () => { if (status) status.textContent = "Live updates paused; reconnecting…"; });
  src.addEventListener("alert", (ev) => {
    let a;
    try { a = JSON.parse(ev.data); } catch (e) { return; }
    const known = document.querySelector('[data-alert="' + Number(a.id) + '"]');
    if (known) {
      const st = known.querySelector('[data-field="state"]');
      if (st) { st.textContent = ""; st.appendChild(chip("state state-" + a.state, a.state)); }
      window.tw.announce("Alert " + a.id + " is now " + a.state);
      return;
    }
    fresh++;
    if (badge) { badge.hidden = false; badge.textContent = fresh + " new"; }
    window.tw.announce("New " + a.severity + " alert: " + a.title);
    if (table) {
      const empty = table.querySelector("tr.empty");
      if (empty) empty.remove();
      const tr = document.createElement("tr");
      tr.dataset.alert = a.id;
      tr.className = "fresh";
      const cells = [String(a.id), chip("sev sev-" + a.severity, a.severity), link("/alerts/" + a.id, a.title), a.kind.replace(/_/g, " "),
        a.portfolio + " / " + a.vessel, chip("state state-" + a.state, a.state), a.updated];
      cells.forEach((c, i) => {
        const td = document.createElement("td");
        if (i === 5) td.dataset.field = "state";
        if (typeof c === "string") td.textContent = c; else td.appendChild(c);
        tr.appendChild(td);
      });
      table.prepend(tr);
    }
    if (list) {
      const none = document.getElementById("no-alerts");
      if (none) none.remove();
      const li = document.createElement("li");
      li.dataset.alert = a.id;
      li.append(chip("sev sev-" + a.severity, a.severity), " ", link("/alerts/" + a.id, a.title));
      list.prepend(li);
      const n = document.getElementById("open-count");
      if (n && a.state === "open") n.textContent = String(Number(n.textContent) + 1);
    }
  });
  window.addEventListener("pagehide", () => src.close());
  function chip(cls, text) { const s = document.createElement("span"); s.className = cls; s.textContent = text; return s; }
  function link(href, text) { const l = document.createElement("a"); l.href = href; l.textContent = text; return l; }
})();
