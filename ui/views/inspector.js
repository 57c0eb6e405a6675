/* The Token inspector: the current ID or access token (checks, expectations, claims, the raw
 * token masked until revealed), the refresh token's facts, userinfo, and a pasted token. */

import * as bridge from "../bridge.js";
import { $, ask, breakable, codeText, el, setText, show, showError, toast } from "../dom.js";
import { messageOf, now, relative, utc, valueText } from "../format.js";

let tab = "id"; // id, access, refresh, userinfo or paste
let pastedToken = null; // shown in the raw view; current tokens are fetched only when revealed
let rawRevealed = false;
let expectations = [];
let activeProfile = "";

export function mount() {
  for (const button of document.querySelectorAll('[role="tab"]')) {
    button.addEventListener("click", () => { tab = button.dataset.token; shown(); });
  }
  for (const radio of document.querySelectorAll('input[name="verify-with"]')) radio.addEventListener("change", syncVerifyWith);
  $("paste-inspect").addEventListener("click", inspectPasted);
  $("raw-reveal").addEventListener("click", toggleRaw);
  $("expect-form").addEventListener("submit", addExpectation);
  $("copy-token").addEventListener("click", copyToken);
  bridge.onAppInfo((info) => {
    expectations = info.expectations || [];
    activeProfile = info.active_profile;
  });
}

/** Shows the chosen tab, asking Rust for what it holds. */
export async function shown() {
  for (const button of document.querySelectorAll('[role="tab"]')) {
    button.setAttribute("aria-selected", String(button.dataset.token === tab));
  }
  $("inspector-panel").setAttribute("aria-labelledby", `tab-${tab}`);
  show("paste-box", tab === "paste");
  for (const id of ["refresh-view", "userinfo-view", "jwt-view", "inspector-empty"]) show(id, false);
  if (tab === "paste") return;
  try {
    if (tab === "refresh") renderRefreshToken(await bridge.refreshTokenInfo());
    else if (tab === "userinfo") renderUserinfo(await bridge.userinfo());
    else {
      pastedToken = null;
      render(await bridge.inspectToken(tab));
    }
  } catch (e) {
    emptyInspector(messageOf(e));
  }
}

function emptyInspector(message) {
  $("inspector-empty").replaceChildren(...codeText(message));
  show("inspector-empty", true);
}

function renderRefreshToken(info) {
  if (!info) { emptyInspector("Not signed in: there is no refresh token."); return; }
  setText("rt-kind", info.kind);
  setText("rt-length", `${info.length} characters`);
  setText("rt-since", info.stored_since ? `${utc(info.stored_since)} (${relative(info.stored_since - now())})` : "—");
  setText("rt-store", info.store);
  show("refresh-view", true);
}

function renderUserinfo(info) {
  $("userinfo").tBodies[0].replaceChildren(...Object.entries(info).map(([name, value]) =>
    el("tr", { "data-attribute": name },
      el("td", { class: "claim", text: name }),
      el("td", { class: "value" }, ...breakable(valueText(value))))));
  setText("userinfo-raw", JSON.stringify(info, null, 2));
  show("userinfo-view", true);
}

/** Draws one inspection: checks, expectations, claims, header and payload. */
export function render(inspection) {
  const checks = inspection.checks.map((check) =>
    el("li", { class: check.passed ? "pass" : "fail", "data-check": check.name },
      el("span", { class: "mark", "aria-label": check.passed ? "passed" : "failed", text: check.passed ? "✓" : "✗" }),
      el("span", { class: "name", text: check.name }),
      el("span", { class: "reason" }, ...codeText(check.reason))));
  const judged = (inspection.expectations || []).map((e) =>
    el("li", { class: `expect ${e.passed ? "pass" : "fail"}`, "data-check": "expect", "data-expectation": e.expectation },
      el("span", { class: "mark", "aria-label": e.passed ? "met" : "not met", text: e.passed ? "✓" : "✗" }),
      el("span", { class: "name", text: `expect ${e.expectation}` }),
      el("span", { class: "reason" }, ...codeText(e.reason))));
  $("checks").replaceChildren(...checks, ...judged);
  $("claims").tBodies[0].replaceChildren(...inspection.claims.map((claim) =>
    el("tr", { "data-claim": claim.name },
      el("td", { class: "claim", text: claim.name }),
      el("td", { class: "value" }, el("span", {}, ...breakable(valueText(claim.value))), claim.human ? el("span", { class: "human" }, ...codeText(claim.human)) : ""),
      el("td", { class: "meaning" }, ...codeText(claim.explanation || "")))));
  setText("jwt-header", JSON.stringify(inspection.header, null, 2));
  setText("jwt-payload", JSON.stringify(Object.fromEntries(inspection.claims.map((c) => [c.name, c.value])), null, 2));
  show("copy-token", tab !== "paste");
  rawRevealed = false;
  renderRaw(null);
  renderExpectations();
  show("jwt-view", true);
}

/* The raw token in its three colours; masked (each part's first characters and its length)
 * until revealed. */
function renderRaw(token) {
  const box = $("raw-token");
  $("raw-reveal").setAttribute("aria-pressed", String(Boolean(token)));
  setText("raw-reveal", token ? "Mask" : "Reveal");
  if (!token) {
    const parts = ["header", "payload", "signature"];
    box.replaceChildren(...parts.map((name, i) => el("span", { class: `jwt-part jwt-${name[0]}`, "data-part": name },
      `${i ? "." : ""}•••• (${name})`)));
    box.classList.add("masked");
    return;
  }
  const [h, p, sig] = token.split(".");
  box.replaceChildren(
    el("span", { class: "jwt-part jwt-h", "data-part": "header", text: h || "" }), ".",
    el("span", { class: "jwt-part jwt-p", "data-part": "payload", text: p || "" }), ".",
    el("span", { class: "jwt-part jwt-s", "data-part": "signature", text: sig || "" }));
  box.classList.remove("masked");
}

async function toggleRaw() {
  if (rawRevealed) { rawRevealed = false; renderRaw(null); return; }
  try {
    const token = tab === "paste" ? pastedToken : await bridge.revealToken(tab);
    rawRevealed = true;
    renderRaw(token);
  } catch (e) { showError(e); }
}

function renderExpectations() {
  setText("expect-profile", activeProfile);
  $("expect-list").replaceChildren(...expectations.map((text) => el("li", { "data-expectation": text },
    el("code", { text }),
    el("button", { class: "small ghost", "aria-label": `Remove ${text}`, onclick: () => saveExpectations(expectations.filter((e) => e !== text)) }, "×"))));
}

async function saveExpectations(list) {
  show("expect-error", false);
  try {
    expectations = await bridge.saveExpectations(list);
    renderExpectations();
    if (tab === "paste") await inspectPasted();
    else await shown();
    return true;
  } catch (e) {
    setText("expect-error", messageOf(e));
    show("expect-error", true);
    return false;
  }
}

async function addExpectation(event) {
  event.preventDefault();
  const text = $("expect-input").value.trim();
  if (!text) return;
  if (await saveExpectations([...expectations, text])) $("expect-input").value = "";
}

function verifyWith() { return document.querySelector('input[name="verify-with"]:checked').value; }
function syncVerifyWith() {
  for (const box of document.querySelectorAll("[data-verify]")) box.hidden = box.dataset.verify !== verifyWith();
}

async function inspectPasted() {
  const token = $("paste-input").value.trim();
  pastedToken = token;
  show("jwt-view", false);
  show("inspector-empty", false);
  try {
    const source = verifyWith();
    if (source === "provider") {
      render(await bridge.inspectPasted(token));
    } else {
      const input = { jwks_url: "verify-jwks-url", jwks: "verify-jwks", pem: "verify-pem" }[source];
      render(await bridge.inspectWithKeys(token, { [source]: $(input).value }));
    }
  } catch (e) { emptyInspector(messageOf(e)); }
}

async function copyToken() {
  const yes = await ask("Copy this token?",
    "A token is a credential: anyone who has it can call your APIs as you until it expires. Latchkey clears it from the clipboard after a short while; paste it only where you trust.",
    "Copy token");
  if (!yes) return;
  try {
    const copied = await bridge.copyToken(tab);
    const message = `Copied. The clipboard is cleared in ${copied.clears_in_secs} s.`;
    setText("copy-warning", message);
    toast(message);
  } catch (e) { showError(e); }
}
