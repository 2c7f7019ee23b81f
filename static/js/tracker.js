// Starts the NHS.UK frontend components. Loaded as a module from our own static files (no
// inline script): browsers that run modules get the enhanced components.
import { initAll } from "../nhsuk/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();
