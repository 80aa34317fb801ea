// /docs: Swagger UI (a vendored global script) over the app's own OpenAPI document.
// "Try it out" sends real requests to this server; nothing leaves it.

const root = document.querySelector("#swagger-ui");

// Swagger UI's own dark theme hangs on html.dark-mode; follow the system, as the rest of the site does.
const dark = matchMedia("(prefers-color-scheme: dark)");
const theme = () => document.documentElement.classList.toggle("dark-mode", dark.matches);
theme();
dark.addEventListener("change", theme);

window.SwaggerUIBundle({
  url: root.dataset.spec,
  domNode: root,
  deepLinking: true,
  defaultModelsExpandDepth: 0,
  onComplete: () => { document.body.dataset.ready = "true"; },
});
