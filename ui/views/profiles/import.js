/* Import: the profiles of a file (or pasted text) are reviewed first; only the button under a
 * review saves it, and an existing name is replaced only by its "Replace profile NAME". Part
 * of the profiles view. */

import * as bridge from "../../bridge.js";
import { $, clearError, el, setText, show, showError } from "../../dom.js";

/** Wires the import buttons. */
export function mountImport() {
  $("pf-import").addEventListener("click", importFile);
  $("import-text-review").addEventListener("click", reviewPasted);
  $("import-cancel").addEventListener("click", cancelImport);
}

async function importFile() {
  clearError();
  try { showReview(await bridge.reviewImportFile()); } catch (e) { showError(e); }
}

async function reviewPasted() {
  clearError();
  try { showReview(await bridge.reviewImportText($("import-text").value)); } catch (e) { showError(e); }
}

function showReview(reviews) {
  if (!reviews.length) return;
  $("import-review-list").replaceChildren(...reviews.map(reviewCard));
  show("import-review", true);
  $("import-review").scrollIntoView({ block: "start" });
}

function reviewCard(review) {
  const rows = review.settings.map((s) => el("tr", { class: s.security ? "security" : "", "data-field": s.field },
    el("td", {}, s.field, s.security ? el("span", { class: "pill bad", text: "where tokens go" }) : ""),
    el("td", {}, el("code", { text: s.value }),
      s.previous !== null && s.previous !== undefined ? el("span", { class: "previous", text: ` was ${s.previous}` }) : "")));
  return el("div", { class: "import-profile", "data-import": review.name },
    el("h4", { text: review.replaces ? `“${review.name}” replaces your profile of that name` : `“${review.name}”, a new profile` }),
    el("div", { class: "table-wrap" }, el("table", {}, el("tbody", {}, ...rows))),
    ...review.dropped.map((d) => el("p", { class: "hint", "data-dropped": d.field, text: `Not imported: ${d.field} — ${d.reason}.` })),
    review.moves_session.length
      ? el("p", { class: "moves", "data-moves": review.moves_session.join(","), text: `Your session of “${review.name}” will be signed out first (its refresh token revoked): the new ${review.moves_session.join(", ")} send tokens elsewhere.` })
      : "",
    el("div", { class: "actions" },
      el("button", { type: "button", class: review.replaces ? "small danger" : "small primary", "data-action": "confirm-import",
        onclick: () => confirmImport(review) }, review.action)));
}

async function confirmImport(review) {
  clearError();
  try {
    await bridge.confirmImport(review.name, review.replaces);
    const card = document.querySelector(`[data-import="${CSS.escape(review.name)}"]`);
    if (card) card.remove();
    if (!$("import-review-list").children.length) { show("import-review", false); $("import-text").value = ""; }
    setText("profiles-status", review.replaces ? `Replaced profile “${review.name}”.` : `Saved profile “${review.name}”.`);
    await bridge.appInfo();
    await bridge.sessionState();
  } catch (e) { showError(e); }
}

function cancelImport() {
  $("import-review-list").replaceChildren();
  show("import-review", false);
  setText("profiles-status", "Nothing was imported.");
}
