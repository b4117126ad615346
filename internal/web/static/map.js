// Maps of a vessel's track and of events, drawn with Leaflet from data
// this server serves: land (Natural Earth, clipped and simplified for the
// view), DPRK waters and STS areas, ports, tracks thinned for the zoom.
// No tile server and no internet.
"use strict";
(function () {
  const el = document.getElementById("map");
  if (!el || !window.L) return;
  const status = document.getElementById("map-status");
  const say = (t) => { if (status) status.textContent = t; };
  const kindColour = { encounter: "#d9480f", gap: "#6a1b9a", port_call: "#b3261e", loitering: "#8a5300", zone_entry: "#0b5cad",
    zone_exit: "#0b5cad", position_spoofing: "#7a1a14", draught_change: "#1e6b34", identity_change: "#4a5563", identity_conflict: "#4a5563", inconsistency: "#4a5563" };

  const map = L.map(el, { preferCanvas: true, worldCopyJump: false, minZoom: 2, maxZoom: 14, zoomSnap: 1, attributionControl: true });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Land: Natural Earth · DPRK sea: © OpenStreetMap contributors");
  map.createPane("land").style.zIndex = 250;
  map.createPane("zones").style.zIndex = 300;
  const land = L.geoJSON(null, { pane: "land", interactive: false, style: { color: "#9a9480", weight: 0.6, fillColor: "#ece7da", fillOpacity: 1 } }).addTo(map);
  const zones = L.geoJSON(null, {
    pane: "zones",
    style: (f) => f.properties.kind === "dprk_waters"
      ? { color: "#b3261e", weight: 2, dashArray: "6 4", fillColor: "#b3261e", fillOpacity: 0.06 }
      : { color: "#6a1b9a", weight: 2, dashArray: "4 4", fillColor: "#6a1b9a", fillOpacity: 0.05 },
    onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name, { sticky: true }),
  }).addTo(map);
  const ports = L.layerGroup().addTo(map);

  const get = async (url) => {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(url.split("?")[0] + ": HTTP " + r.status);
    return r.json();
  };
  const viewBox = (pad) => {
    const b = map.getBounds().pad(pad);
    const c = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    return [c(b.getSouth(), -85, 85), c(b.getWest(), -180, 180), c(b.getNorth(), -85, 85), c(b.getEast(), -180, 180)].map((v) => v.toFixed(3)).join(",");
  };

  let geoSeq = 0;
  async function loadGeography() {
    const seq = ++geoSeq;
    const z = map.getZoom(), bbox = viewBox(0.5);
    const [l, p] = await Promise.all([get("/geo/land.json?zoom=" + z + "&bbox=" + bbox), get("/geo/ports.json?zoom=" + z + "&bbox=" + bbox)]);
    if (seq !== geoSeq) return;
    land.clearLayers(); land.addData(l);
    ports.clearLayers();
    for (const f of p.features) {
      const [lon, lat] = f.geometry.coordinates;
      const dprk = f.properties.dprk;
      L.circleMarker([lat, lon], { radius: dprk ? 5 : 3, color: dprk ? "#b3261e" : "#57606a", weight: 1, fillColor: dprk ? "#b3261e" : "#fff", fillOpacity: 1 })
        .bindTooltip((dprk ? "DPRK port: " : "Port: ") + f.properties.name).addTo(ports);
    }
  }
  const zonesLoaded = get("/geo/zones.json").then((z) => zones.addData(z));

  function eventMarker(e) {
    const m = L.circleMarker([e.lat, e.lon], { radius: 7, color: "#12263a", weight: 2, fillColor: kindColour[e.kind] || "#ffd166", fillOpacity: 0.95 });
    m.bindTooltip(e.label);
    m.bindPopup(() => {
      const d = document.createElement("div");
      d.textContent = e.label;
      return d;
    });
    return m;
  }

  let debounce;
  const onView = (fn) => map.on("moveend", () => { clearTimeout(debounce); debounce = setTimeout(fn, 120); });
  const ready = (text) => {
    performance.mark("map-ready");
    document.body.dataset.mapReady = "1";
    say(text);
  };
  const fail = (e) => { say("The map could not load: " + e.message); document.body.dataset.mapError = e.message; };

  if (el.dataset.config) vesselMap(JSON.parse(el.dataset.config)).catch(fail);
  else if (el.dataset.events) eventsMap(el.dataset.events).catch(fail);

  // ---- a vessel's track, its events and its counterparts' tracks
  async function vesselMap(cfg) {
    const tracks = L.layerGroup().addTo(map);
    const counter = L.layerGroup().addTo(map);
    const events = L.layerGroup().addTo(map);
    const from = document.getElementById("t-from"), to = document.getElementById("t-to"), label = document.getElementById("t-label");
    const span = Math.max(cfg.to - cfg.from, 1);
    const tAt = (v) => Math.round(cfg.from + (span * Number(v)) / 1000);
    const fmt = (t) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
    const period = () => {
      let a = tAt(from.value), b = tAt(to.value);
      if (a > b) [a, b] = [b, a];
      return [a, Math.max(b, a + 1)];
    };
    const showPeriod = () => {
      const [a, b] = period();
      label.textContent = fmt(a) + " to " + fmt(b);
      from.setAttribute("aria-valuetext", fmt(a));
      to.setAttribute("aria-valuetext", fmt(b));
    };
    showPeriod();
    const markers = cfg.events.map((e) => ({ e, m: eventMarker(e) }));
    const drawEvents = () => {
      const [a, b] = period();
      events.clearLayers();
      for (const { e, m } of markers) if (e.end >= a && e.start <= b) m.addTo(events);
    };
    let seq = 0, stored = 0, shown = 0;
    const drawTracks = async (zoom, bbox) => {
      const s = ++seq;
      const [a, b] = period();
      const q = (m) => cfg.track + "?mmsi=" + m + "&from=" + a + "&to=" + b + "&zoom=" + zoom + (bbox ? "&bbox=" + bbox : "");
      const res = await Promise.all(cfg.mmsis.map((m) => get(q(m))));
      if (s !== seq) return null;
      tracks.clearLayers();
      stored = 0; shown = 0;
      const all = [];
      for (const t of res) {
        stored += t.stored; shown += t.points.length;
        const lines = [];
        for (const p of t.points) {
          if (p[3] || lines.length === 0) lines.push([]);
          lines[lines.length - 1].push([p[1], p[2]]);
          all.push([p[1], p[2]]);
        }
        L.polyline(lines, { color: "#0b5cad", weight: 2.5, opacity: 0.9, interactive: false }).addTo(tracks);
      }
      return all;
    };
    // Counterparts of encounters: their track half a day either side.
    const drawCounterparts = async () => {
      const seen = new Set();
      const jobs = [];
      for (const e of cfg.events) for (const m of e.counterparts || []) {
        const key = m + ":" + e.start;
        if (seen.has(key)) continue;
        seen.add(key);
        jobs.push(get(cfg.track + "?mmsi=" + m + "&from=" + (e.start - 43200) + "&to=" + (e.end + 43200) + "&zoom=10").then((t) => {
          const lines = [];
          for (const p of t.points) {
            if (p[3] || lines.length === 0) lines.push([]);
            lines[lines.length - 1].push([p[1], p[2]]);
          }
          L.polyline(lines, { color: "#d9480f", weight: 2, dashArray: "5 4", interactive: false }).bindTooltip("Counterpart MMSI " + m).addTo(counter);
        }));
      }
      await Promise.all(jobs);
    };
    // First the whole period at a regional zoom, to frame it.
    const first = await drawTracks(5, "");
    let bounds = first && first.length ? L.latLngBounds(first) : null;
    for (const { e } of markers) bounds = bounds ? bounds.extend([e.lat, e.lon]) : L.latLngBounds([[e.lat, e.lon], [e.lat, e.lon]]);
    if (bounds) map.fitBounds(bounds.pad(0.1), { maxZoom: 10, animate: false });
    else map.setView([38.5, 125], 5, { animate: false });
    drawEvents();
    await Promise.all([loadGeography(), zonesLoaded, drawCounterparts()]);
    ready("Map ready: " + shown + " of " + stored + " stored positions drawn for this zoom, " + markers.length + " events. Drag or use the arrow keys to pan, + and - to zoom.");
    const redraw = async () => {
      await Promise.all([loadGeography(), drawTracks(map.getZoom(), viewBox(0.3))]);
      say("Showing " + shown + " of " + stored + " stored positions in this view, " + label.textContent + ".");
    };
    onView(() => redraw().catch(fail));
    let st;
    const onSlide = () => { showPeriod(); drawEvents(); clearTimeout(st); st = setTimeout(() => redraw().catch(fail), 200); };
    from.addEventListener("input", onSlide);
    to.addEventListener("input", onSlide);
    document.querySelectorAll(".show-on-map").forEach((b) => b.addEventListener("click", () => {
      const lat = Number(b.dataset.lat), lon = Number(b.dataset.lon);
      map.setView([lat, lon], Math.max(map.getZoom(), 8));
      el.scrollIntoView({ behavior: "smooth", block: "center" });
      for (const { e, m } of markers) if (e.ref === b.dataset.ref) { m.addTo(events); m.openPopup(); }
    }));
  }

  // ---- the events explorer
  async function eventsMap(url) {
    const layer = L.layerGroup().addTo(map);
    const data = await get(url);
    let bounds = null;
    for (const e of data.events) {
      eventMarker(e).addTo(layer);
      bounds = bounds ? bounds.extend([e.lat, e.lon]) : L.latLngBounds([[e.lat, e.lon], [e.lat, e.lon]]);
    }
    if (bounds) map.fitBounds(bounds.pad(0.2), { maxZoom: 9, animate: false });
    else map.setView([33, 125], 4, { animate: false });
    await Promise.all([loadGeography(), zonesLoaded]);
    ready("Map ready: " + data.count + " events with a position.");
    onView(() => loadGeography().catch(fail));
  }
})();
