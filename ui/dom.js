/* Element lookup and creation (text only, never HTML), and the app's shared surfaces: the
 * error box, the question dialog (no window.confirm), the toast and a token's lifetime bar. */

import { messageOf, now, relative, utc } from "./format.js";

export const $ = (id) => document.getElementById(id);

/** A new element; `text` sets its text, `on…` adds a listener, `style` goes through CSSOM. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style") Object.assign(node.style, value); // CSSOM, allowed by the CSP
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
export function setText(id, value) { $(id).textContent = value ?? "—"; }

/** Text where `code` spans (the engine's Markdown) become <code> elements: text nodes only,
 * never HTML; an unpaired backtick stays as it is. */
export function codeText(text) {
  const nodes = [];
  let last = 0;
  for (const match of String(text ?? "").matchAll(/`([^`]+)`/g)) {
    if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
    nodes.push(el("code", { text: match[1] }));
    last = match.index + match[0].length;
  }
  if (last < String(text ?? "").length) nodes.push(document.createTextNode(String(text).slice(last)));
  return nodes;
}
export function setCodeText(id, value) { $(id).replaceChildren(...codeText(value ?? "—")); }

/** An identifier (ARN, pool id, UUID, URL) that may wrap only after `:`, `/` and `-`: its
 * text with a <wbr> after each of them (text nodes only, so textContent is unchanged). */
export function breakable(text) {
  const nodes = [];
  for (const part of String(text ?? "").match(/[^:/-]+[:/-]*|[:/-]+/g) || [""]) {
    if (nodes.length) nodes.push(document.createElement("wbr"));
    nodes.push(document.createTextNode(part));
  }
  return nodes;
}
export function setBreakable(id, value) { $(id).replaceChildren(...breakable(value ?? "—")); }
export function show(id, visible) { $(id).hidden = !visible; }
/** Whether view `name` (its `view-NAME` section) is the one on screen. */
export function isShown(name) { return !$(`view-${name}`).hidden; }

/* ---------- the error box ---------- */
export function showError(err) {
  setText("error-text", messageOf(err));
  show("error", true);
}
export function clearError() { show("error", false); }

/* ---------- the app's own questions and notices ---------- */
let modalAnswer = null;

/** Asks a yes/no question in the app's dialog; resolves true for `okLabel`. */
export function ask(title, text, okLabel) {
  setText("modal-title", title);
  setText("modal-text", text);
  setText("modal-ok", okLabel);
  show("modal", true);
  const previous = document.activeElement;
  $("modal-cancel").focus();
  return new Promise((resolve) => {
    modalAnswer = (yes) => {
      modalAnswer = null;
      show("modal", false);
      if (previous && previous.focus) previous.focus();
      resolve(yes);
    };
  });
}
/** Whether a question is open (it takes the keyboard). */
export function asking() { return !$("modal").hidden; }
/** Answers the open question, if there is one. */
export function answer(yes) { if (modalAnswer) modalAnswer(yes); }

let toastTimer = null;
export function toast(text) {
  setText("toast", text);
  show("toast", true);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => show("toast", false), 6000);
}

/** Wires the error box's and the dialog's buttons. */
export function mountSurfaces() {
  $("error-dismiss").addEventListener("click", clearError);
  $("modal-ok").addEventListener("click", () => answer(true));
  $("modal-cancel").addEventListener("click", () => answer(false));
}

/** One lifetime bar: issued → expires, the part where Latchkey renews hatched. */
export function lifetimeBar(name, issuedAt, expiresAt, marginSecs) {
  const t = now();
  const total = Math.max(1, expiresAt - issuedAt);
  const elapsed = Math.min(1, Math.max(0, (t - issuedAt) / total));
  const margin = Math.min(1, Math.max(0, marginSecs) / total);
  const left = expiresAt - t;
  return el("div", { class: "timeline", "data-token": name },
    el("div", { class: "label" },
      el("strong", { text: name }),
      el("span", { class: left > 0 ? "muted" : "pill bad", text: left > 0 ? `expires ${relative(left)}` : "expired" })),
    el("div", { class: "track", role: "img", "aria-label": `${name}: ${Math.round(elapsed * 100)}% of its lifetime used, expires ${relative(left)}` },
      el("div", { class: "margin", style: { width: `${margin * 100}%` } }),
      el("div", { class: "elapsed", style: { width: `${elapsed * 100}%` } }),
      el("div", { class: "now", style: { left: `calc(${elapsed * 100}% - 1px)` } })),
    el("div", { class: "ends" },
      el("span", { text: `issued ${utc(issuedAt)}` }),
      el("span", { text: `expires ${utc(expiresAt)}` })));
}
