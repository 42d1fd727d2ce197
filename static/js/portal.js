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

/* Announcements for screen readers: every element marked data-announce="KEY" carries its
 * current state in data-announce-state. Polls replace those elements; after each swap the
 * states are compared with the last ones seen, and each change is written, in words from
 * data-announce-message, into a live region that is never swapped (#announce-assertive
 * when the element says data-announce-urgent, e.g. a tunnel gone down; otherwise
 * #announce-polite). */
(function () {
  "use strict";

  var seen = {};

  function states() {
    var found = {};
    document.querySelectorAll("[data-announce]").forEach(function (element) {
      found[element.getAttribute("data-announce")] = element;
    });
    return found;
  }

  function remember() {
    var found = states();
    Object.keys(found).forEach(function (key) {
      seen[key] = found[key].getAttribute("data-announce-state");
    });
  }

  function say(regionId, messages) {
    var region = document.getElementById(regionId);
    if (region && messages.length) {
      region.textContent = messages.join(". ") + ".";
    }
  }

  function announceChanges() {
    var found = states();
    var polite = [];
    var urgent = [];
    Object.keys(found).forEach(function (key) {
      var element = found[key];
      var state = element.getAttribute("data-announce-state");
      if (key in seen && seen[key] !== state) {
        var message = element.getAttribute("data-announce-message");
        (element.hasAttribute("data-announce-urgent") ? urgent : polite).push(message);
      }
      seen[key] = state;
    });
    say("announce-assertive", urgent);
    say("announce-polite", polite);
  }

  document.addEventListener("DOMContentLoaded", remember);
  document.addEventListener("htmx:afterSettle", announceChanges);
})();
