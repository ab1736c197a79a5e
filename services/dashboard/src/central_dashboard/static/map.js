// A world map in SVG, equirectangular: x is longitude, y is minus latitude, so the
// view box is the whole globe in degrees. Outlines come from world-110m.json (see
// README.md in this folder); events are drawn from CloudEvents or GeoJSON features.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const RADIUS = 1.3; // degrees at the whole-world view
  let world = null;

  function loadWorld() {
    world = world || fetch("/static/world-110m.json").then(function (r) {
      if (!r.ok) throw new Error("world outline: HTTP " + r.status);
      return r.json();
    });
    return world;
  }

  function el(name, attrs) {
    const node = document.createElementNS(SVG, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    return node;
  }

  // A flat [lon, lat, ...] list as path data, shifted by dx degrees.
  function line(flat, dx, close) {
    let d = "";
    for (let i = 0; i < flat.length; i += 2) {
      d += (i ? "L" : "M") + (flat[i] + dx).toFixed(1) + " " + (-flat[i + 1]).toFixed(1);
    }
    return close ? d + "Z" : d;
  }

  // Rings that run past the antimeridian are drawn again a globe's width away.
  function ringCopies(flat) {
    let min = Infinity, max = -Infinity;
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i] < min) min = flat[i];
      if (flat[i] > max) max = flat[i];
    }
    const shifts = [0];
    if (max > 180) shifts.push(-360);
    if (min < -180) shifts.push(360);
    return shifts.map(function (dx) { return line(flat, dx, true); }).join("");
  }

  function graticule() {
    let d = "";
    for (let lon = -150; lon <= 150; lon += 30) d += "M" + lon + " -90V90";
    for (let lat = -60; lat <= 60; lat += 30) d += "M-180 " + lat + "H180";
    return d;
  }

  function domainOf(type) {
    const parts = String(type || "").split(".");
    return parts.length > 2 ? parts[1] : "other";
  }

  // Either shape becomes {event, geometry}; a feature's properties are the event
  // without data.geometry, which is put back so the JSON shown is the whole event.
  function normalize(item) {
    if (item && item.type === "Feature") {
      const event = Object.assign({}, item.properties || {});
      if (event.data && typeof event.data === "object" && item.geometry) {
        event.data = Object.assign({}, event.data, { geometry: item.geometry });
      }
      return { event: event, geometry: item.geometry };
    }
    const data = item && item.data;
    return { event: item, geometry: data && typeof data === "object" ? data.geometry : null };
  }

  function flatten(positions) {
    const out = [];
    positions.forEach(function (p) { out.push(p[0], p[1]); });
    return out;
  }

  function polygonsOf(geometry) {
    if (geometry.type === "Polygon") return [geometry.coordinates];
    if (geometry.type === "MultiPolygon") return geometry.coordinates;
    return [];
  }

  function pointsOf(geometry) {
    if (geometry.type === "Point") return [geometry.coordinates];
    if (geometry.type === "MultiPoint") return geometry.coordinates;
    return [];
  }

  function extend(b, geometry) {
    const walk = function (c) {
      if (typeof c[0] === "number") {
        b.minX = Math.min(b.minX, c[0]); b.maxX = Math.max(b.maxX, c[0]);
        b.minY = Math.min(b.minY, c[1]); b.maxY = Math.max(b.maxY, c[1]);
      } else {
        c.forEach(walk);
      }
    };
    if (geometry.type === "GeometryCollection") {
      (geometry.geometries || []).forEach(function (g) { extend(b, g); });
    } else if (geometry.coordinates) {
      walk(geometry.coordinates);
    }
  }

  function shapeFor(geometry, cls) {
    if (!geometry) return null;
    if (geometry.type === "GeometryCollection") {
      const g = el("g", { class: cls });
      (geometry.geometries || []).forEach(function (part) {
        const s = shapeFor(part, "");
        if (s) g.appendChild(s);
      });
      return g.childNodes.length ? g : null;
    }
    const points = pointsOf(geometry);
    if (points.length === 1) {
      return el("circle", { class: "point " + cls, cx: points[0][0], cy: -points[0][1], r: RADIUS });
    }
    if (points.length > 1) {
      const g = el("g", { class: cls });
      points.forEach(function (p) {
        g.appendChild(el("circle", { class: "point", cx: p[0], cy: -p[1], r: RADIUS }));
      });
      return g;
    }
    let d = "";
    if (geometry.type === "LineString") {
      d = line(flatten(geometry.coordinates), 0, false);
    } else if (geometry.type === "MultiLineString") {
      d = geometry.coordinates.map(function (c) { return line(flatten(c), 0, false); }).join("");
    } else {
      polygonsOf(geometry).forEach(function (rings) {
        rings.forEach(function (ring) { d += line(flatten(ring), 0, true); });
      });
    }
    return d ? el("path", { class: "area " + cls, d: d }) : null;
  }

  // create(container, {onSelect}) ->
  //   {show(items), add(items, live), fit(), count(), drawn()}
  function create(container, options) {
    const opts = options || {};
    const svg = el("svg", {
      viewBox: "-180 -90 360 180", preserveAspectRatio: "xMidYMid meet", class: "world",
    });
    svg.appendChild(el("rect", { class: "sea", x: -180, y: -90, width: 360, height: 180 }));
    svg.appendChild(el("path", { class: "graticule", d: graticule() }));
    const land = svg.appendChild(el("path", { class: "land" }));
    const borders = svg.appendChild(el("path", { class: "borders" }));
    const areas = svg.appendChild(el("g", { class: "areas" }));
    const points = svg.appendChild(el("g", { class: "points" }));
    container.appendChild(svg);
    let selected = null;
    let total = 0;
    let radius = RADIUS;
    const bounds = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };

    loadWorld().then(function (w) {
      land.setAttribute("d", w.land.map(ringCopies).join(""));
      borders.setAttribute("d", w.borders.map(function (b) { return line(b, 0, false); }).join(""));
      container.classList.add("ready");
    }).catch(function (err) {
      container.classList.add("outline-failed");
      container.setAttribute("data-error", String(err));
    });

    function select(node, event) {
      if (selected) selected.classList.remove("selected");
      selected = node;
      node.classList.add("selected");
      if (opts.onSelect) opts.onSelect(event);
    }

    function draw(item, live) {
      const n = normalize(item);
      total += 1;
      let shape = null;
      try {
        shape = shapeFor(n.geometry, "ev dot-" + domainOf(n.event && n.event.type) + (live ? " live" : ""));
      } catch (err) {
        return; // a malformed geometry leaves the event off the map, not the rest
      }
      if (!shape) return;
      shape.setAttribute("data-id", (n.event && n.event.id) || "");
      const title = el("title", {});
      title.textContent = [n.event.type, n.event.subject, n.event.time].filter(Boolean).join(" · ");
      shape.appendChild(title);
      shape.addEventListener("click", function () { select(shape, n.event); });
      extend(bounds, n.geometry);
      shape.querySelectorAll("circle").forEach(function (c) { c.setAttribute("r", radius); });
      if (shape.tagName === "circle") shape.setAttribute("r", radius);
      const kind = n.geometry.type;
      (kind === "Point" || kind === "MultiPoint" ? points : areas).appendChild(shape);
    }

    return {
      show: function (items) {
        areas.textContent = "";
        points.textContent = "";
        total = 0;
        selected = null;
        bounds.minX = bounds.minY = Infinity;
        bounds.maxX = bounds.maxY = -Infinity;
        (items || []).forEach(function (item) { draw(item, false); });
      },
      add: function (items, live) {
        (items || []).forEach(function (item) { draw(item, live); });
      },
      // Zoom to the events drawn so far (2:1, never closer than 40 by 20 degrees).
      fit: function () {
        if (bounds.minX > bounds.maxX) return;
        let w = Math.max(bounds.maxX - bounds.minX, 40) * 1.2;
        let h = Math.max(bounds.maxY - bounds.minY, 20) * 1.2;
        if (w < 2 * h) w = 2 * h; else h = w / 2;
        if (w > 360) { w = 360; h = 180; }
        const x = Math.min(Math.max((bounds.minX + bounds.maxX - w) / 2, -180), 180 - w);
        const y = Math.min(Math.max((-bounds.maxY - bounds.minY - h) / 2, -90), 90 - h);
        svg.setAttribute("viewBox", [x, y, w, h].map(function (v) { return v.toFixed(2); }).join(" "));
        radius = RADIUS * w / 360;
        svg.querySelectorAll("circle").forEach(function (c) { c.setAttribute("r", radius); });
      },
      count: function () { return total; },
      drawn: function () { return points.childNodes.length + areas.childNodes.length; },
    };
  }

  function showJson(target) {
    return function (event) { target.textContent = JSON.stringify(event, null, 2); };
  }

  window.CentralMap = { create: create, showJson: showJson, normalize: normalize };
})();
