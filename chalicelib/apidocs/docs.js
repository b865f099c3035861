// Starts Swagger UI on this API's own document. A file, not an inline script, so the
// page's Content-Security-Policy needs no 'unsafe-inline'.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json", // relative to the page (/v1/docs), so a stage prefix in the path still works
    dom_id: "#api-reference",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null, // the default posts the document to an online validator
  });
});
