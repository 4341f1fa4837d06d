// The locations map (Leaflet, bundled by esbuild into dist/map.js; see docs/console.md). It reads
// the locations from the page's #map-data JSON; the page lists them too, so without this bundle
// or without tiles (offline) nothing is lost but the picture.
import L from "leaflet";

function draw() {
  const el = document.getElementById("map");
  const data = document.getElementById("map-data");
  if (!el || !data) { return; }
  let locations = [];
  try { locations = JSON.parse(data.textContent) || []; } catch { return; }
  const map = L.map(el, { scrollWheelZoom: false });
  L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19,
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
  }).addTo(map);
  // The view comes first: Leaflet draws markers only on a map that has one.
  const points = locations.map((loc) => [loc.lat, loc.lon]);
  if (points.length === 0) {
    map.setView([50, 10], 4);
  } else if (points.length === 1) {
    map.setView(points[0], 14);
  } else {
    map.fitBounds(points, { padding: [30, 30] });
  }
  for (const loc of locations) {
    const states = loc.stations.map((s) => s.state);
    const colour = states.length === 0 ? "#777" : states.every((s) => s === "online") ? "#1a7f37" : "#b35900";
    const marker = L.circleMarker([loc.lat, loc.lon], { radius: 9, color: colour, weight: 2, fillOpacity: 0.6 }).addTo(map);
    // Built from DOM nodes, not HTML strings: names and ids come from users and stations.
    const box = document.createElement("div");
    const a = document.createElement("a");
    a.href = "/locations/" + encodeURIComponent(loc.id);
    a.textContent = loc.name;
    box.append(a, document.createElement("br"), document.createTextNode(loc.address));
    const list = document.createElement("ul");
    for (const s of loc.stations) {
      const li = document.createElement("li");
      const sa = document.createElement("a");
      sa.href = "/stations/" + encodeURIComponent(s.id);
      sa.textContent = s.id;
      // A station only some of whose EVSEs stand here names them.
      const evses = s.evses && s.evses.length ? ", EVSE " + s.evses.join(", ") : "";
      li.append(sa, document.createTextNode(" (" + s.state + evses + ")"));
      list.append(li);
    }
    if (loc.stations.length) { box.append(list); }
    marker.bindPopup(box);
    marker.bindTooltip(loc.name);
    const dot = marker.getElement();
    if (dot) { dot.setAttribute("data-location", loc.id); }
  }
  el.dataset.ready = String(points.length);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", draw);
} else {
  draw();
}
