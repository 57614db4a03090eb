// Keyboard access to tables wider than the screen: a .table-wrap that scrolls sideways becomes a focusable,
// labelled region, so arrow keys scroll it (axe-core: scrollable-region-focusable). Runs again after htmx swaps.
(function () {
  "use strict";
  function label(wrap) {
    var caption = wrap.querySelector("caption");
    var labelled = wrap.querySelector("table[aria-labelledby]");
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    if (labelled) {
      var h = document.getElementById(labelled.getAttribute("aria-labelledby"));
      if (h) return h.textContent.trim();
    }
    var prev = wrap.previousElementSibling;
    while (prev && !/^H[1-6]$/.test(prev.tagName)) prev = prev.previousElementSibling;
    return prev ? prev.textContent.trim() : document.title;
  }
  function mark() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", label(wrap));
      } else if (!scrolls && wrap.getAttribute("tabindex") === "0") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("resize", mark);
  document.addEventListener("htmx:afterSettle", mark);
})();
