// Orchestrator's little JavaScript. Every page works without it; it adds: the antiforgery header on htmx requests,
// copy buttons, confirmation prompts for destructive forms and selects that submit their form.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  document.addEventListener("htmx:configRequest", function (event) {
    if (token) {
      event.detail.headers["X-CSRF-TOKEN"] = token;
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var text = button.getAttribute("data-copy");
    if (navigator.clipboard && text) {
      navigator.clipboard.writeText(text).then(function () {
        var old = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = old; }, 1200);
      });
    }
  });

  // A select marked data-autosubmit submits its form when changed (the form's button does the same without JavaScript).
  document.addEventListener("change", function (event) {
    var select = event.target.closest ? event.target.closest("select[data-autosubmit]") : null;
    if (select && select.form) {
      if (select.form.requestSubmit) {
        select.form.requestSubmit();
      } else {
        select.form.submit();
      }
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
