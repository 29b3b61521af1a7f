// Starts Swagger UI over keymint's OpenAPI document. It is a file of its own,
// not an inline script, so that the page's Content-Security-Policy can forbid
// inline scripts.
"use strict";

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  // Never send the document to swagger.io's validator, nor load its badge.
  validatorUrl: null,
  // Never load another document named in the page's query string.
  queryConfigEnabled: false,
});
