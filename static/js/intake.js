/* The intake pages' two small helpers, without a framework:
 * - show only the fields of the routing chosen (static: subnets; BGP: ASN and prefixes),
 *   and make the shown ones required, the hidden ones disabled (so they are not sent);
 * - copy a customer link to the clipboard.
 * The server checks everything again; without JavaScript every field simply shows. */
(function () {
  "use strict";

  function syncRouting(form) {
    var checked = form.querySelector('input[name="routing"]:checked');
    var routing = checked ? checked.value : "";
    form.querySelectorAll("[data-routing]").forEach(function (row) {
      var shown = !routing || row.getAttribute("data-routing") === routing;
      row.hidden = !shown;
      row.querySelectorAll("input, textarea, select").forEach(function (input) {
        input.disabled = !shown;
        if (row.hasAttribute("data-required")) {
          input.required = shown && Boolean(routing);
        }
      });
    });
  }

  function copyLink(button) {
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) {
      return;
    }
    input.select();
    var done = function () {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done);
    } else {
      document.execCommand("copy");
      done();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-intake-form]").forEach(function (form) {
      form.querySelectorAll('input[name="routing"]').forEach(function (radio) {
        radio.addEventListener("change", function () { syncRouting(form); });
      });
      syncRouting(form);
    });
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () { copyLink(button); });
    });
  });
})();
