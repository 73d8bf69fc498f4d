// The API reference at /api/docs: Swagger UI reading the OpenAPI document Hosting serves
// beside it (generated from the route tables: `make openapi`). "Try it out" calls the API
// on this same origin; paste an access token from POST /api/auth/login under "Authorize".
/* global SwaggerUIBundle */

window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("api-docs");
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    domNode: root,
    deepLinking: true,
    // The public validator badge would call validator.swagger.io: no third-party calls.
    validatorUrl: null,
    displayOperationId: false,
    defaultModelsExpandDepth: 0,
    onComplete: () => root?.setAttribute("aria-busy", "false"),
  });
});
