// The streams page: each form sends the limits the operator changed to
// PUT /api/streams/{name} with the typed token, and shows the API's answer as is.
(function () {
  "use strict";

  const token = document.getElementById("token");
  const actor = document.getElementById("actor");
  const FIELDS = { max_age_s: Number, max_bytes: Number, duplicate_window_s: Number, replicas: Number };

  // The same readings the server renders beside each field.
  function duration(value) {
    const s = Number(value);
    if (!(s > 0)) return "unlimited";
    const units = [["d", 86400], ["h", 3600], ["min", 60]];
    for (const [unit, length] of units) {
      if (s >= length) {
        const n = s / length;
        return (Number.isInteger(n) ? n : n.toFixed(1)) + " " + unit;
      }
    }
    return s + " s";
  }

  function size(value) {
    let n = Number(value);
    if (n < 0) return "unlimited";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return i ? n.toFixed(1) + " " + units[i] : n.toFixed(0) + " B";
  }

  const READING = { max_age_s: duration, duplicate_window_s: duration, max_bytes: size };

  function when(iso) {
    return iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z");
  }

  function changes(form) {
    const out = {};
    Object.keys(FIELDS).forEach(function (name) {
      const input = form.elements[name];
      if (!input || input.value.trim() === "") return;
      if (input.value.trim() !== input.getAttribute("data-initial")) {
        out[name] = FIELDS[name](input.value.trim());
      }
    });
    return out;
  }

  function show(form, text, ok) {
    const answer = form.querySelector(".answer");
    answer.hidden = false;
    answer.textContent = text;
    answer.classList.toggle("ok", ok);
    answer.classList.toggle("bad", !ok);
  }

  async function submit(form) {
    const body = changes(form);
    if (!Object.keys(body).length) {
      show(form, "Nothing changed.", true);
      return;
    }
    const name = form.getAttribute("data-stream");
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (token.value.trim()) headers.Authorization = "Bearer " + token.value.trim();
    if (actor.value.trim()) headers["X-Central-Actor"] = actor.value.trim();
    let response, text;
    try {
      response = await fetch("/api/streams/" + encodeURIComponent(name), {
        method: "PUT", headers: headers, body: JSON.stringify(body),
      });
      text = await response.text();
    } catch (err) {
      show(form, "Request failed: " + err, false);
      return;
    }
    try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (err) { /* not JSON: show as sent */ }
    show(form, response.status + " " + response.statusText + "\n" + text, response.ok);
    if (response.ok) {
      Object.keys(body).forEach(function (field) {
        form.elements[field].setAttribute("data-initial", form.elements[field].value.trim());
      });
      const limits = JSON.parse(text).limits || {};
      const changed = form.querySelector(".changed");
      if (changed && limits.updated_at) {
        changed.textContent = "Last changed " + when(limits.updated_at) + " by " + limits.updated_by;
      }
    }
  }

  document.getElementById("operator").addEventListener("submit", function (e) { e.preventDefault(); });
  document.querySelectorAll("form.stream-form").forEach(function (form) {
    Object.keys(READING).forEach(function (name) {
      const input = form.elements[name];
      const hint = input && input.parentElement.querySelector("small");
      if (!hint) return;
      input.addEventListener("input", function () {
        if (input.value.trim() !== "") hint.textContent = READING[name](input.value);
      });
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      submit(form).finally(function () { button.disabled = false; });
    });
  });
})();
