/* Behaviour every page shares, kept out of the markup (the Content-Security-Policy allows
 * no inline script and no eval, so htmx trigger filters cannot be used):
 * - a region marked data-poll-while-visible skips its poll while the tab is hidden, and
 *   polls at its next tick once the tab is shown again. */
(function () {
  "use strict";

  document.addEventListener("htmx:beforeRequest", function (event) {
    var element = event.detail.elt;
    if (
      document.visibilityState !== "visible" &&
      element.hasAttribute("data-poll-while-visible")
    ) {
      event.preventDefault();
    }
  });
})();
