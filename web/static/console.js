// OpenCPO console: confirmations, the one live-event stream of the tab, live regions, and the
// session chart. No framework; every page works without this script, only less live.
(function () {
  "use strict";

  // Ask before a command is sent (forms with data-confirm).
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });

  if (!document.body.hasAttribute("data-signed-in")) { return; }

  // Live regions: elements with data-live="kind-prefix …" (optionally data-live-station /
  // data-live-session) are re-rendered from the server when a matching event arrives. Events
  // come in bursts, so refreshes are batched: at most one request per second for the page.
  var pending = {}, timer = null, last = 0;
  function matches(el, e) {
    var kinds = (el.getAttribute("data-live") || "").split(/\s+/);
    var ok = kinds.some(function (k) { return k && e.kind.indexOf(k) === 0; });
    if (!ok) { return false; }
    var st = el.getAttribute("data-live-station");
    if (st && e.stationId !== st) { return false; }
    var se = el.getAttribute("data-live-session");
    if (se && String(e.sessionId) !== se) { return false; }
    return true;
  }
  function schedule(ids) {
    ids.forEach(function (id) { pending[id] = true; });
    if (timer) { return; }
    var wait = Math.max(0, 1000 - (Date.now() - last));
    timer = setTimeout(refresh, wait);
  }
  function refresh() {
    timer = null; last = Date.now();
    var ids = Object.keys(pending); pending = {};
    if (!ids.length) { return; }
    fetch(location.href, { headers: { "X-Live": "1" }, credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { setLive(false, "signed out"); return null; }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      ids.forEach(function (id) {
        var now = document.getElementById(id), fresh = doc.getElementById(id);
        if (!now || !fresh) { return; }
        // Keep focus and typed values: never replace a region the user is typing in.
        if (now.contains(document.activeElement) && /INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName)) { return; }
        now.innerHTML = fresh.innerHTML;
        if (id === "session-detail") { drawChart(); }
      });
      document.dispatchEvent(new CustomEvent("opencpo:refreshed", { detail: ids }));
    }).catch(function () {});
  }

  var feed = document.getElementById("feed");
  function addToFeed(e) {
    if (!feed) { return; }
    var empty = feed.querySelector(".empty");
    if (empty) { empty.remove(); }
    var li = document.createElement("li");
    var t = new Date(e.at);
    var text = t.toISOString().slice(11, 19) + " " + e.kind;
    li.appendChild(document.createTextNode(text + " "));
    if (e.stationId) {
      var a = document.createElement("a");
      a.href = "/stations/" + encodeURIComponent(e.stationId);
      a.textContent = e.stationId;
      li.appendChild(a);
    }
    var extra = [];
    if (e.evseId) { extra.push("EVSE " + e.evseId); }
    if (e.sessionId) { extra.push("session " + e.sessionId); }
    if (e.status) { extra.push(e.status); }
    if (typeof e.energyWh === "number") { extra.push((e.energyWh / 1000).toFixed(2) + " kWh"); }
    if (extra.length) { li.appendChild(document.createTextNode(" " + extra.join(", "))); }
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > 50) { feed.removeChild(feed.lastChild); }
  }

  var liveState = document.getElementById("live-state");
  function setLive(on, text) {
    if (!liveState) { return; }
    liveState.classList.toggle("on", on);
    liveState.textContent = text;
  }

  function allRegions() {
    return Array.prototype.map.call(document.querySelectorAll("[data-live][id]"), function (el) { return el.id; });
  }

  if (window.EventSource) {
    var wasDown = false;
    // The message log page also wants its station's frames, on the same one stream.
    var watch = document.querySelector("[data-watch-messages]");
    var es = new EventSource("/console/events" + (watch ? "?messages=" + encodeURIComponent(watch.getAttribute("data-watch-messages")) : ""));
    es.onopen = function () {
      setLive(true, "live");
      if (wasDown) { schedule(allRegions()); } // events may have been missed meanwhile
      wasDown = false;
    };
    es.onerror = function () { setLive(false, "reconnecting…"); wasDown = true; };
    es.onmessage = function (m) {
      var e;
      try { e = JSON.parse(m.data); } catch (_) { return; }
      addToFeed(e);
      var ids = [];
      document.querySelectorAll("[data-live][id]").forEach(function (el) {
        if (matches(el, e)) { ids.push(el.id); }
      });
      if (ids.length) { schedule(ids); }
      document.dispatchEvent(new CustomEvent("opencpo:event", { detail: e }));
    };
  }

  // The session chart (uPlot, from the bundle in /assets/dist when it was built).
  var plot = null;
  function drawChart() {
    var box = document.getElementById("chart"), dataEl = document.getElementById("chart-data");
    if (!box || !dataEl || !window.uPlot) { return; }
    var data;
    try { data = JSON.parse(dataEl.textContent); } catch (_) { return; }
    if (!data || !data[0] || !data[0].length) { return; }
    if (plot) { plot.destroy(); plot = null; }
    box.innerHTML = "";
    var width = Math.max(280, box.clientWidth || 600);
    plot = new window.uPlot({
      width: width, height: 320,
      series: [
        {},
        { label: "Power (W)", stroke: "#0b57d0", width: 2, scale: "W", spanGaps: true },
        { label: "Energy (Wh)", stroke: "#116329", width: 2, scale: "Wh", spanGaps: true }
      ],
      axes: [{}, { scale: "W", label: "W" }, { scale: "Wh", side: 1, label: "Wh", grid: { show: false } }]
    }, data, box);
    box.setAttribute("data-drawn", "true");
  }
  window.addEventListener("load", drawChart);
  window.addEventListener("resize", function () { if (plot) { drawChart(); } });
})();
