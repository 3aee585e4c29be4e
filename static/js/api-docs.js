// Starts Swagger UI on /api/docs from the vendored bundle (no inline script: CSP forbids it).
window.addEventListener("DOMContentLoaded", function () {
  window.SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: false,
    supportedSubmitMethods: [],
  });
});
