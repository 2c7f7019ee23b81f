// The API documentation page (/api/docs/), for assistive technology, again each time Swagger UI
// draws it (axe-core): its groups of operations (h3) and the schemas' heading (h4) follow the
// page's h1 as levels 2 and 3, and its title and description, outside its own main landmark, are a
// region of their own.
const page = document.getElementById("swagger-ui");
const relabel = () => {
  page.querySelectorAll("h3.opblock-tag").forEach((heading) => heading.setAttribute("aria-level", "2"));
  page.querySelectorAll(".models h4").forEach((heading) => heading.setAttribute("aria-level", "3"));
  page.querySelectorAll(".information-container:not([role])").forEach((info) => {
    info.setAttribute("role", "region");
    info.setAttribute("aria-label", "About this API");
  });
};
new MutationObserver(relabel).observe(page, { childList: true, subtree: true });
