// Starts the NHS.UK frontend components. Loaded as a module from our own static files (no
// inline script): browsers that run modules get the enhanced components.
import { CharacterCount, createAll, initAll } from "../nhsuk/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

// A form loaded in place (an item's forms, opened in its row) counts its characters as the page's do.
document.body.addEventListener("htmx:load", (event) => {
  const loaded = event.detail.elt;
  if (!(loaded instanceof Element) || loaded === document.body) return;
  if (loaded.querySelector('[data-module="nhsuk-character-count"]')) createAll(CharacterCount, undefined, loaded);
});

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
    // A page may say what to do in place (an expired form: reload, rather than go back).
    const inPlace = page.querySelector("main [data-in-place]");
    if (inPlace) return inPlace.dataset.inPlace;
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
// Again once the browser has put back what a form held (Back to the page), which it does after this runs.
window.addEventListener("pageshow", revealFollowUps);
document.body.addEventListener("change", (event) => {
  if (event.target instanceof HTMLInputElement && event.target.type === "radio") revealFollowUps();
});

// --- text typed in a change that was not saved ------------------------------------------------------
// A note, a reason or a check-in sent after the session ended is not saved (middleware.py sends the
// person to sign in, with a message tagged not-saved). What they typed is kept in this tab's
// sessionStorage from the moment it is sent and, once they are back, put into the same form on the
// page they return to, to check and send again. It is kept only through the sign-in pages
// (data-sign-in-flow) and given back only to the person who typed it (data-person): any other page
// drops it, so it does not outlive the return, a sign-out or another person's sign-in.

const UNSAVED = "tracker-unsaved";
const RESTORED = "What you typed was not saved, so it has been put back. Check it, then save it again.";

function readUnsaved() {
  try {
    return JSON.parse(sessionStorage.getItem(UNSAVED)) || [];
  } catch {
    return [];
  }
}

function writeUnsaved(entries) {
  try {
    if (entries.length) sessionStorage.setItem(UNSAVED, JSON.stringify(entries));
    else sessionStorage.removeItem(UNSAVED);
  } catch {
    // Storage refused (private browsing, full): nothing is kept, as without JavaScript.
  }
}

// A form is known by where it sends (its own action, not a button's formaction: the reason's form
// sends "Not applicable" and "Blocked" from one field); a form with no action by its page.
function formKey(form) {
  const url = new URL(form.getAttribute("action") || window.location.href, window.location.href);
  return url.pathname + url.search;
}

// The boxes a person types in: text areas and one-line boxes (a date's day, month and year, an ODS
// code), not hidden fields or passwords.
const TYPED_BOXES =
  "textarea[name], input[name]:is(:not([type]), [type=text], [type=number], [type=email], [type=tel], [type=url], [type=date])";

// What was typed (text boxes) and chosen (radios, such as a check-in's RAG status) that differs from
// what the page came with.
function typedIn(form) {
  // A check-before-saving page (the milestones' preview) carries what was typed in hidden fields.
  const carried = form.hasAttribute("data-carries-typed")
    ? [...form.querySelectorAll("input[type=hidden][name]")]
        .filter((field) => !["csrfmiddlewaretoken", "confirm"].includes(field.name) && !field.matches(SHOWN_WITH))
        .map((field) => ({ name: field.name, value: field.value }))
    : [];
  const typed = [...form.querySelectorAll(TYPED_BOXES)]
    // A one-line box emptied counts (a date no longer agreed); a text area of spaces does not.
    .filter(
      (field) =>
        !field.disabled &&
        field.value !== field.defaultValue &&
        (field.value.trim() || field.tagName === "INPUT"),
    )
    .map((field) => ({ name: field.name, value: field.value }))
    .concat(carried);
  if (!typed.length) return typed;
  const chosen = [...form.querySelectorAll("input[type=radio][name]:checked")]
    .filter((radio) => !radio.disabled && !radio.defaultChecked)
    .map((radio) => ({ name: radio.name, value: radio.value, radio: true }));
  return [...typed, ...chosen, ...shownWith(form)];
}

// What the page showed when the person typed (an item's revision, the milestones' dates as they
// were): put back with what they typed, so that a change someone else saved meanwhile is still
// caught when the form is sent again, rather than taken from the page reloaded after signing in.
const SHOWN_WITH = 'input[type=hidden][name=revision], input[type=hidden][name$="-was"]';

function shownWith(form) {
  return [...form.querySelectorAll(SHOWN_WITH)].map((field) => ({ name: field.name, value: field.value, shown: true }));
}

function keepTyped(form) {
  const person = document.body.dataset.person;
  if (!person || form.method.toLowerCase() !== "post") return;
  const fields = typedIn(form);
  const key = formKey(form);
  const others = readUnsaved().filter((entry) => entry.key !== key);
  if (!fields.length) {
    writeUnsaved(others);
    return;
  }
  // The row, for a form it loads when its details open (an item's note and reason).
  const row = form.closest(ITEM)?.id || "";
  writeUnsaved([...others, { person, key, row, fields, failed: false }]);
}

// Refused as an expired form (a row's change, answered with the page 403_csrf.html): kept for the
// page reloaded, as the sign-in pages keep it.
function keepForReload(form) {
  const key = formKey(form);
  writeUnsaved(readUnsaved().map((entry) => (entry.key === key ? { ...entry, failed: true } : entry)));
}

function dropKept(form) {
  const key = formKey(form);
  writeUnsaved(readUnsaved().filter((entry) => entry.key !== key));
}

function restoreInto(form, entry) {
  entry.fields
    .filter((field) => field.radio)
    .forEach(({ name, value }) => {
      const radio = form.querySelector(
        `input[type=radio][name="${CSS.escape(name)}"][value="${CSS.escape(value)}"]`,
      );
      if (radio && !radio.disabled) {
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  entry.fields
    .filter((field) => field.shown)
    .forEach(({ name, value }) => {
      const field = [...form.querySelectorAll(SHOWN_WITH)].find((hidden) => hidden.name === name);
      if (field) field.value = value;
    });
  const filled = entry.fields
    .filter((field) => !field.radio && !field.shown)
    .map(({ name, value }) => {
      const field = [...form.querySelectorAll(TYPED_BOXES)].find((box) => box.name === name);
      if (field && !field.disabled) {
        field.value = value;
        field.dispatchEvent(new Event("input", { bubbles: true })); // its character count follows
      }
      return field;
    })
    .filter(Boolean);
  if (!filled.length) return false;
  const notice = document.createElement("div");
  notice.className = "nhsuk-inset-text nhsuk-u-margin-top-0 tracker-restored";
  notice.setAttribute("role", "status");
  const text = document.createElement("p");
  text.textContent = RESTORED;
  notice.append(text);
  form.before(notice);
  // The focus in the first box put back that differs from what the page shows (a preview carries
  // every date, changed or not), and the notice above the form in view (a check-in's box is below
  // its radios: focused alone, the notice would be scrolled off the top).
  (filled.find((field) => field.value !== field.defaultValue) || filled[0]).focus({ preventScroll: true });
  notice.scrollIntoView({ block: "start" });
  return true;
}

// Entries to put back on this page: taken out of storage at once, and held here while their forms
// load (a row's forms come with htmx when its details open).
let waiting = [];

function restoreWaiting(root) {
  const forms = [...(root instanceof HTMLFormElement ? [root] : []), ...root.querySelectorAll("form")];
  waiting = waiting.filter((entry) => {
    const form = forms.find((each) => each.method.toLowerCase() === "post" && formKey(each) === entry.key);
    return !(form && restoreInto(form, entry));
  });
}

// After htmx has started (its DOMContentLoaded listener came first), so that a row opened here loads
// its forms.
document.addEventListener("DOMContentLoaded", function startUnsaved() {
  const entries = readUnsaved();
  if (document.body.hasAttribute("data-sign-in-flow")) {
    // Told here that the change was not saved: keep what was typed for the page after sign-in.
    if (document.querySelector("[data-not-saved]")) {
      writeUnsaved(entries.map((entry) => ({ ...entry, failed: true })));
    }
    return;
  }
  writeUnsaved([]);
  const person = document.body.dataset.person;
  waiting = entries.filter((entry) => entry.failed && person && entry.person === person);
  if (!waiting.length) return;
  restoreWaiting(document);
  waiting.forEach((entry) => {
    const details = entry.row && document.getElementById(entry.row)?.querySelector("details");
    if (details && !details.open) details.open = true; // its forms load, then restoreWaiting
  });
});

document.body.addEventListener("submit", (event) => {
  if (event.target instanceof HTMLFormElement) keepTyped(event.target);
});

// A button with hx-post of its own (an item's "Blocked") sends its form without a submit event.
document.body.addEventListener("htmx:beforeRequest", (event) => {
  const form = event.detail.elt?.closest?.("form");
  if (form && event.detail.requestConfig?.verb === "post") keepTyped(form);
});

// Answered (before the swap: a row's answer replaces the form, whose events then reach no one).
document.body.addEventListener("htmx:beforeOnLoad", (event) => {
  const { elt, xhr } = event.detail;
  const form = elt?.closest?.("form");
  if (form && xhr.status < 400 && !xhr.getResponseHeader("HX-Redirect")) dropKept(form);
  else if (form && xhr.status === 403 && isWholePage(xhr.response) && /\sdata-not-saved[\s>]/.test(xhr.response)) {
    keepForReload(form);
  }
});

// The session ended (the answer sends the browser to sign in: HX-Redirect, middleware.py): what was
// typed in the page's other forms and not sent yet (a note half written in another row) is kept too,
// and put back with the rest once the person has signed in again.
document.body.addEventListener("htmx:beforeOnLoad", (event) => {
  if (!event.detail.xhr.getResponseHeader("HX-Redirect")) return;
  const sent = event.detail.elt?.closest?.("form");
  document.querySelectorAll("form").forEach((form) => {
    if (form !== sent) keepTyped(form);
  });
});

document.body.addEventListener("htmx:load", (event) => {
  if (waiting.length && event.detail.elt instanceof Element) restoreWaiting(event.detail.elt);
});

// --- the start form's practice search (migration_start.html) ------------------------------------------
// A search run in place after a refused submit lists practices anew: the error summary and the
// "Select the practice" error of that submit no longer describe the page, so they go. The other
// fields' errors stay at their fields until the form is sent again.
document.body.addEventListener("htmx:afterSwap", (event) => {
  const results = event.detail.target;
  if (!(results instanceof Element) || results.id !== "practice-results") return;
  const group = results.closest(".nhsuk-form-group");
  group?.classList.remove("nhsuk-form-group--error");
  group?.querySelector("#practice-error")?.remove();
  group?.querySelector("fieldset[aria-describedby='practice-error']")?.removeAttribute("aria-describedby");
  document.querySelector(".nhsuk-error-summary")?.remove();
  document.title = document.title.replace(/^Error: /, "");
});
