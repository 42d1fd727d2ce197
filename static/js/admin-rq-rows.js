/* django-rq's job page: a click on a result row opens the result, as its inline onclick
 * handlers meant to (the Content-Security-Policy refuses inline handlers). The click is
 * stopped before it reaches the row, so the browser never runs the refused handlers;
 * a click on the row's own link follows the link as usual. */
(function () {
  "use strict";

  document.addEventListener(
    "click",
    function (event) {
      var row = event.target.closest("tr.rq-clickable");
      if (!row) {
        return;
      }
      event.stopPropagation();
      var link = event.target.closest("a[href]") || row.querySelector("a[href]");
      if (link && !event.target.closest("a[href]")) {
        window.location.assign(link.href);
      }
    },
    true
  );
})();
