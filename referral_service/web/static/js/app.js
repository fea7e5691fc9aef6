/* Progressive enhancement only: every page works without JavaScript. No inline scripts (CSP). */
(function () {
  "use strict";

  function focusFirstMarked(root) {
    var target = (root || document).querySelector("[data-focus-on-load]");
    if (target) {
      target.focus();
    }
  }

  // A table wider than the screen scrolls sideways: let keyboard users reach and scroll it.
  function scrollableTables() {
    document.querySelectorAll(".table-wrap:not([tabindex])").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth) {
        var caption = wrap.querySelector("caption");
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        if (caption) {
          if (!caption.id) {
            caption.id = "caption-" + Math.random().toString(36).slice(2);
          }
          wrap.setAttribute("aria-labelledby", caption.id);
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusFirstMarked(document);
    scrollableTables();
    // A table can start to overflow later: the window narrows (a phone turned upright, a zoomed-in
    // page) or a folded section that holds it opens.
    window.addEventListener("resize", scrollableTables);
    document.addEventListener("toggle", scrollableTables, true);
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  });

  // After HTMX swaps in a fragment, move focus to its marked element (e.g. a verification result).
  document.addEventListener("htmx:afterSettle", function () {
    scrollableTables();
    focusFirstMarked(document);
  });
})();
