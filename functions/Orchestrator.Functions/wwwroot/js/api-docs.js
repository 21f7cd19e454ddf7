// Starts the API reference (Scalar's standalone bundle, served by the app at /api/reference/scalar.js) on our OpenAPI
// document. No external fonts or proxies: every request stays on this host.
(function () {
  "use strict";
  var app = document.getElementById("app");
  window.Scalar.createApiReference("#app", {
    sources: [{ title: "Orchestrator API v1", url: app.getAttribute("data-openapi") }],
    withDefaultFonts: false,
    hideClientButton: false,
    theme: "default",
  });
})();
