// Tables and charts that fit narrow screens; the CSS does the rest (miiwrap.css).
(function () {
  "use strict";

  // A table that stacks its rows as cards on a phone shows each cell under its column's
  // name: the names are copied from the head onto the cells, for the CSS to print.
  function labelStackedCells() {
    document.querySelectorAll("table.table-stack").forEach(function (table) {
      var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.cells, function (cell, index) {
          if (names[index] && !cell.hasAttribute("data-heading")) {
            cell.setAttribute("data-heading", names[index]);
          }
        });
      });
    });
  }

  // A table or chart wider than its box scrolls inside it (a table's box may scroll by a
  // pixel of height too, its borders rounded); a keyboard user reaches that scroll only if
  // the box takes focus. Boxes that fit stay out of the tab order.
  function name(box) {
    var named = box.querySelector("caption, figcaption, svg > title");
    return named ? named.textContent.trim() : "Scrollable content";
  }

  function focusScrollingBoxes() {
    document.querySelectorAll(".table-responsive, .chart-figure").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight) {
        box.setAttribute("tabindex", "0");
        if (box.tagName !== "FIGURE" && !box.hasAttribute("role")) {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", name(box));
        }
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }

  labelStackedCells();
  focusScrollingBoxes();
  window.addEventListener("resize", focusScrollingBoxes);
})();
