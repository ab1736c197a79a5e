// The map page: the filter form queries /api/events as GeoJSON, "Load more" follows
// next_cursor, and /api/live appends events as they arrive.
(function () {
  "use strict";

  const form = document.getElementById("map-filters");
  const status = document.getElementById("map-status");
  const more = document.getElementById("map-more");
  const types = document.getElementById("known-types");
  const map = CentralMap.create(document.getElementById("map"), {
    onSelect: CentralMap.showJson(document.getElementById("map-selected")),
  });
  const seenTypes = new Set();
  let next = null;
  let live = null;

  // The form's filters as query parameters; the live feed takes only type and bbox.
  function filters(names) {
    const params = new URLSearchParams();
    names.forEach(function (name) {
      const value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    });
    form.elements.type.value.split(",").map(function (t) { return t.trim(); })
      .filter(Boolean).forEach(function (t) { params.append("type", t); });
    return params;
  }

  // Without a box of its own the map asks for the whole world, which also leaves
  // out the events that have no location to draw.
  const WORLD = "-180,-90,180,90";

  // A cursor continues the filters it came with, not what the form says since.
  let shown = null;

  function query(cursor) {
    if (!cursor || !shown) {
      shown = filters(["since", "until", "bbox", "limit"]);
      if (!shown.has("bbox")) shown.set("bbox", WORLD);
      shown.set("format", "geojson");
    }
    const params = new URLSearchParams(shown);
    if (cursor) params.set("cursor", cursor);
    return "/api/events?" + params.toString();
  }

  function learnTypes(features) {
    features.forEach(function (f) {
      const t = f.properties && f.properties.type;
      if (t && !seenTypes.has(t)) {
        seenTypes.add(t);
        const option = document.createElement("option");
        option.value = t;
        types.appendChild(option);
      }
    });
  }

  function report() {
    const n = map.count();
    status.textContent = n + " event" + (n === 1 ? "" : "s") + " on the map" +
      (next ? ", more available" : "");
    more.hidden = !next;
  }

  async function load(cursor) {
    status.textContent = "Loading events…";
    let body;
    try {
      const response = await fetch(query(cursor), { headers: { Accept: "application/geo+json" } });
      body = await response.json();
      if (!response.ok) {
        const e = body.error || {};
        status.textContent = "Refused (" + response.status + "): " + (e.parameter || "") + " " + (e.reason || "");
        return;
      }
    } catch (err) {
      status.textContent = "Could not load events: " + err;
      return;
    }
    const features = body.features || [];
    if (cursor) map.add(features, false); else map.show(features);
    learnTypes(features);
    next = body.next_cursor || null;
    report();
  }

  function connectLive() {
    if (live || !window.EventSource) return;
    const params = filters(["bbox"]);
    if (!params.has("bbox")) params.set("bbox", WORLD);
    live = new EventSource("/api/live?" + params.toString());
    const append = function (message) {
      let item;
      try { item = JSON.parse(message.data); } catch (err) { return; }
      if (!item || typeof item !== "object") return;
      map.add([item], true);
      report();
    };
    live.onmessage = append;
    live.onopen = function () { form.classList.add("live-open"); };
    live.onerror = function () { form.classList.remove("live-open"); };
  }

  function disconnectLive() {
    if (live) live.close();
    live = null;
    form.classList.remove("live-open");
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    next = null;
    load(null);
    if (form.elements.live.checked) {
      disconnectLive();
      connectLive();
    }
  });
  more.addEventListener("click", function () { if (next) load(next); });
  form.elements.live.addEventListener("change", function () {
    if (form.elements.live.checked) connectLive(); else disconnectLive();
  });
  form.querySelectorAll("[data-since-s]").forEach(function (button) {
    button.addEventListener("click", function () {
      const seconds = Number(button.getAttribute("data-since-s"));
      form.elements.since.value = new Date(Date.now() - seconds * 1000).toISOString();
      form.requestSubmit();
    });
  });

  load(null);
  if (form.elements.live.checked) connectLive();
})();
