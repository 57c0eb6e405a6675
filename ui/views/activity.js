/* The Activity log: the protocol trace Rust records (never a secret), live while on screen,
 * exported to a file or cleared on request. */

import * as bridge from "../bridge.js";
import { $, el, isShown, setText, showError } from "../dom.js";

export function mount() {
  $("activity-export").addEventListener("click", async () => {
    try { setText("activity-exported", `Saved to ${await bridge.exportActivity()}`); } catch (e) { showError(e); }
  });
  $("activity-clear").addEventListener("click", () => bridge.clearActivity().then(shown).catch(showError));
  bridge.onActivity((entry) => { if (isShown("activity")) $("activity").append(item(entry)); });
}

/** Loads the whole log. */
export async function shown() {
  render(await bridge.activityLog());
}

/** Draws the log's entries. */
export function render(entries) {
  $("activity").replaceChildren(...entries.map(item));
}

function item(entry) {
  return el("li", { class: `lvl-${entry.level}` },
    el("span", { text: new Date(entry.at_ms).toISOString().slice(11, 23) }),
    el("span", { text: entry.level }),
    el("span", { text: entry.message }));
}
