/* django-rq's job page: a click on a result row opens the result, as the row's inline
 * onclick handler meant to (the Content-Security-Policy refuses inline handlers, and
 * vpn.admin takes them out of the dashboard's pages). A click on the row's own link
 * follows the link as usual. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var row = event.target.closest("tr.rq-clickable");
    if (!row || event.target.closest("a[href]")) {
      return;
    }
    var link = row.querySelector("a[href]");
    if (link) {
      window.location.assign(link.href);
    }
  });
})();
