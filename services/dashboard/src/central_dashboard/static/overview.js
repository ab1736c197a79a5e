// The overview: refresh the stream cards from /api/streams every few seconds, so
// counts, rates and lag move without reloading the page.
(function () {
  "use strict";

  const PERIOD_MS = 10000;
  const count = new Intl.NumberFormat("en").format;

  function fill(card, field, text) {
    const node = card.querySelector('[data-field="' + field + '"]');
    if (node) (node.querySelector("time") || node).textContent = text;
  }

  // As the server words it: seconds, minutes, hours, then days ago.
  function since(iso) {
    if (!iso) return "\u2013";
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 120) return s.toFixed(0) + " s ago";
    if (s < 7200) return (s / 60).toFixed(0) + " min ago";
    if (s < 2 * 86400) return (s / 3600).toFixed(1) + " h ago";
    return (s / 86400).toFixed(0) + " d ago";
  }

  async function refresh() {
    let body;
    try {
      const response = await fetch("/api/streams", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      body = await response.json();
    } catch (err) {
      return; // the cards keep their last values; the next round tries again
    }
    (body.streams || []).forEach(function (s) {
      const card = document.querySelector('.card[data-stream="' + s.name + '"]');
      if (!card || !s.state || s.error) return;
      const lag = (s.state.consumers || []).reduce(function (sum, c) { return sum + (c.pending || 0); }, 0);
      fill(card, "messages", count(s.state.messages));
      fill(card, "rate", s.state.rate_per_s == null ? "\u2013" : s.state.rate_per_s.toFixed(2) + "/s");
      fill(card, "last_time", since(s.state.last_time));
      fill(card, "lag", count(lag));
    });
  }

  setInterval(refresh, PERIOD_MS);
})();
