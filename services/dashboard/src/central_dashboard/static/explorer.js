// The explorer: more type fields on demand, and the result page's events on the map.
(function () {
  "use strict";

  const add = document.getElementById("add-type");
  if (add) {
    add.addEventListener("click", function () {
      const types = document.getElementById("types");
      const first = types.querySelector("label.type");
      const copy = first.cloneNode(true);
      copy.querySelector("input").value = "";
      types.appendChild(copy);
      copy.querySelector("input").focus();
    });
  }

  const data = document.getElementById("explorer-events");
  const target = document.getElementById("explorer-map");
  if (!data || !target) return;
  const selected = document.getElementById("explorer-map-selected");
  const rows = document.querySelectorAll("tr.event-row");
  const map = CentralMap.create(target, {
    onSelect: function (event) {
      CentralMap.showJson(selected)(event);
      rows.forEach(function (row) {
        row.classList.toggle("selected", row.getAttribute("data-id") === event.id);
      });
    },
  });
  map.show(JSON.parse(data.textContent));
  map.fit();
})();
