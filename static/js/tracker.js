// Starts the NHS.UK frontend components. Loaded as a module from our own static files (no
// inline script): browsers that run modules get the enhanced components.
import { initAll } from "../nhsuk/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

// --- checklist items updated in place (htmx) --------------------------------------------------------
// An item's action answers with the item again (views/items.py). What goes wrong is shown as an
// NHS.UK error message at the item, never as an error page inside its row. A session that ended
// is not handled here: the server answers with HX-Redirect (middleware.py), which htmx follows.

const ITEM = ".tracker-item";
const FALLBACK_MESSAGES = {
  403: "You do not have permission to do this.",
  404: "This item was not found. Reload the page to see the checklist as it is now.",
};
const SERVER_FAILURE = "Sorry, there is a problem with the service. Try again later.";
const NOT_SENT = "Your change could not be sent. Check your connection, then try again.";

function itemOf(element) {
  return element instanceof Element ? element.closest(ITEM) : null;
}

function isWholePage(html) {
  return typeof html === "string" && /^\s*<!doctype html|^\s*<html[\s>]/i.test(html);
}

// The error page's heading and first paragraph ("You do not have permission to do this. This gate
// is signed off by the practice manager."), or a message for the status when there is none.
function messageFrom(xhr) {
  if (isWholePage(xhr.response)) {
    const page = new DOMParser().parseFromString(xhr.response, "text/html");
    const heading = page.querySelector("main h1");
    const paragraph = page.querySelector("main h1 ~ p");
    if (heading) {
      const title = heading.textContent.trim().replace(/\.?$/, ".");
      return paragraph ? `${title} ${paragraph.textContent.trim()}` : title;
    }
  }
  return FALLBACK_MESSAGES[xhr.status] || SERVER_FAILURE;
}

function focusOn(element) {
  if (!element.matches("input, textarea, select, button, a[href]")) {
    element.setAttribute("tabindex", "-1");
  }
  element.focus();
}

function showFailure(item, message) {
  const id = `${item.id}-failure`;
  item.querySelector(`#${id}`)?.remove();
  const error = document.createElement("p");
  error.className = "nhsuk-error-message tracker-item__failure";
  error.id = id;
  const prefix = document.createElement("span");
  prefix.className = "nhsuk-u-visually-hidden";
  prefix.textContent = "Error:";
  error.append(prefix, ` ${message}`);
  const links = item.querySelector(".tracker-item__links");
  if (links) {
    links.before(error);
  } else {
    item.querySelector(".nhsuk-task-list__name-and-hint")?.append(error);
  }
  focusOn(error);
}

// An item's answer updates out of band what its change moved elsewhere on the page. What is not on
// this page (the row of a gate in a phase not opened yet, or left out of the chosen view) is left
// out, rather than reported as missing: it comes as it is when it is loaded.
function withoutMissingTargets(html) {
  const answer = document.createElement("template");
  answer.innerHTML = html;
  const missing = [...answer.content.querySelectorAll("[hx-swap-oob]")].filter(
    (part) => !document.getElementById(part.id),
  );
  if (!missing.length) return html;
  missing.forEach((part) => part.remove());
  return answer.innerHTML;
}

document.body.addEventListener("htmx:beforeSwap", (event) => {
  const { xhr, elt } = event.detail;
  if (!itemOf(elt)) return;
  if (xhr.status === 409) {
    // Someone else changed the item: the item as it now is, with the message at it.
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  } else if (xhr.status < 400 && isWholePage(xhr.response)) {
    // A whole page is never drawn inside a row: the browser goes to it, as without JavaScript.
    event.detail.shouldSwap = false;
    window.location.assign(xhr.responseURL);
    return;
  }
  if (event.detail.shouldSwap && typeof event.detail.serverResponse === "string") {
    event.detail.serverResponse = withoutMissingTargets(event.detail.serverResponse);
  }
});

document.body.addEventListener("htmx:responseError", (event) => {
  const item = itemOf(event.detail.elt);
  if (item) showFailure(item, messageFrom(event.detail.xhr));
});

document.body.addEventListener("htmx:sendError", (event) => {
  const item = itemOf(event.detail.elt);
  if (item) showFailure(item, NOT_SENT);
});

// An item swapped in with errors (a reason left out, a form gone stale): the focus goes to the
// first of them, as the error summary takes it on a page of its own.
document.body.addEventListener("htmx:load", (event) => {
  const item = event.detail.elt;
  if (!(item instanceof Element) || !item.matches(ITEM)) return;
  const error =
    item.querySelector(".nhsuk-form-group--error :is(textarea, input, select)") ||
    item.querySelector(".nhsuk-error-message");
  if (error) focusOn(error);
});

// --- fields that follow a radio --------------------------------------------------------------------
// A radio's follow-up fields (data-revealed-by: the radio's id; the start form's new practice) are
// shown only while it is chosen. Without JavaScript they are always shown, and the server reads them
// only when that radio is chosen.

function revealFollowUps() {
  document.querySelectorAll("[data-revealed-by]").forEach((fields) => {
    const radio = document.getElementById(fields.dataset.revealedBy);
    fields.hidden = Boolean(radio) && !radio.checked;
  });
}

revealFollowUps();
document.body.addEventListener("change", (event) => {
  if (event.target instanceof HTMLInputElement && event.target.type === "radio") revealFollowUps();
});
