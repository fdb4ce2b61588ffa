// A table or chart wider than its box scrolls inside it (a table's box scrolls by a pixel
// or two of height too, its borders rounded); a keyboard user reaches that
// scroll only if the box takes focus. Boxes that fit are left out of the tab order.
(function () {
  "use strict";
  function label(box) {
    var named = box.querySelector("caption, figcaption, svg > title");
    return named ? named.textContent.trim() : "Scrollable content";
  }
  function mark() {
    document.querySelectorAll(".table-responsive, .chart-figure").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight) {
        box.setAttribute("tabindex", "0");
        if (!box.hasAttribute("role") && box.tagName !== "FIGURE") {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", label(box));
        }
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
})();
