/* The API console: sends a request with the session's token (or SigV4), shows the response,
 * and keeps the profile's saved requests and history (never a token). */

import * as bridge from "../bridge.js";
import { $, ask, clearError, el, isShown, setText, show, showError, toast } from "../dom.js";
import { bytes, prettyBody } from "../format.js";
import { fillForm, formRequest, pairRow, syncScheme } from "./console/request.js";

let sending = false;
let response = null;

export function mount() {
  $("api-form").addEventListener("submit", send);
  $("api-cancel").addEventListener("click", () => bridge.cancelApiCall().catch(showError));
  $("api-add-param").addEventListener("click", () => { $("api-params-box").open = true; pairRow($("api-params")).children[0].focus(); });
  $("api-add-header").addEventListener("click", () => { $("api-headers-box").open = true; pairRow($("api-headers")).children[0].focus(); });
  $("api-save").addEventListener("click", saveRequest);
  $("api-curl-copy").addEventListener("click", copyCurl);
  $("api-history-clear").addEventListener("click", clearHistory);
  for (const radio of document.querySelectorAll('input[name="api-view"]')) radio.addEventListener("change", renderBody);
  $("api-search").addEventListener("input", renderBody);
  for (const quick of document.querySelectorAll("[data-path]")) {
    quick.addEventListener("click", () => {
      $("api-url").value = quick.dataset.path;
      $("api-scheme").value = quick.dataset.scheme;
      syncScheme();
    });
  }
  $("api-scheme").addEventListener("change", syncScheme);
  bridge.onAppInfo((info) => {
    setText("api-base", (info.api_bases || []).join(", ") || "(none configured)");
    if (isShown("console")) shown(); // another profile: its own saved requests and history
  });
}

/** Ctrl+Enter sends, Esc cancels the request in flight, Ctrl+F searches the response. */
export function onKey(event) {
  const ctrl = event.ctrlKey || event.metaKey;
  if (ctrl && event.key === "Enter" && isShown("console")) {
    send();
  } else if (event.key === "Escape" && sending) {
    bridge.cancelApiCall().catch(showError);
  } else if (ctrl && event.key.toLowerCase() === "f" && isShown("console") && response) {
    $("api-search").focus();
  } else {
    return false;
  }
  return true;
}

/** Loads the active profile's saved requests and history. */
export async function shown() {
  try { render(await bridge.consoleLoad()); } catch (e) { showError(e); }
}

/** Draws the saved requests and the history. */
export function render(data) {
  show("api-saved-empty", data.saved.length === 0);
  $("api-saved").replaceChildren(...data.saved.map((s) => el("li", { "data-saved": s.name },
    el("strong", { text: s.name }),
    el("code", { text: `${s.request.method} ${s.request.url}` }),
    el("span", { class: "spacer" }),
    el("button", { class: "small", "data-action": "run", onclick: () => { fillForm(s.request); send(); } }, "Run"),
    el("button", { class: "small", "data-action": "load", onclick: () => { fillForm(s.request); $("api-save-name").value = s.name; } }, "Edit"),
    el("button", { class: "small ghost", "data-action": "delete", onclick: () => deleteSaved(s.name) }, "Delete"))));
  $("api-history").replaceChildren(...data.history.slice(0, 50).map((h, i) => el("li", { "data-history": String(i) },
    h.status ? el("span", { class: `pill ${h.status < 400 ? "ok" : "bad"}`, text: String(h.status) })
      : el("span", { class: "pill bad", title: h.error || "", text: "—" }),
    el("code", { text: `${h.request.method} ${h.request.url}` }),
    el("span", { class: "muted", text: h.status ? `${h.elapsed_ms} ms · ${bytes(h.size_bytes)}` : (h.error || "") }),
    el("span", { class: "spacer" }),
    el("button", { class: "small", "data-action": "rerun", onclick: () => { fillForm(h.request); send(); } }, "Re-run"))));
}

async function clearHistory() {
  if (await ask("Clear the history?", "Every request sent from this profile's console is forgotten. Saved requests stay.", "Clear")) {
    bridge.consoleClearHistory().then(render).catch(showError);
  }
}

async function deleteSaved(name) {
  const yes = await ask(`Delete “${name}”?`, "The saved request is removed from this profile.", "Delete");
  if (!yes) return;
  try { render(await bridge.consoleDelete(name)); } catch (e) { showError(e); }
}

async function saveRequest() {
  clearError();
  try {
    render(await bridge.consoleSave($("api-save-name").value.trim(), formRequest()));
    toast("Saved, without any token: Latchkey adds it when the request is sent.");
  } catch (e) { showError(e); }
}

async function copyCurl() {
  clearError();
  try {
    const text = await bridge.curlCommand(formRequest());
    $("api-curl").value = text;
    show("api-curl-box", true);
    await bridge.copyText(text);
    toast("Copied as curl: the token comes from `latchkey token` when the command runs.");
  } catch (e) { showError(e); }
}

function setSending(now) {
  sending = now;
  $("api-send").disabled = now;
  show("api-cancel", now);
}

async function send(event) {
  if (event) event.preventDefault();
  if (sending) return;
  clearError();
  const request = formRequest();
  setSending(true);
  try {
    renderResponse(await callWithConsent(request));
  } catch (e) {
    showError(e);
  } finally {
    setSending(false);
    shown();
  }
}

/* A token (or a signature) goes to an origin outside the profile's API base URLs only when the
 * user says so, for this one call; plain http is never asked about. */
async function callWithConsent(request) {
  try {
    return await bridge.callApi(request, false);
  } catch (e) {
    const what = request.scheme === "sigv4" ? "a request signed with your AWS credentials" : "your token";
    if (e && e.kind === "origin_not_allowed" && !/plain http/.test(e.message) &&
        await ask(`Send ${what} to this origin?`, `${e.message}\n\nSend it for this one call?`, "Send it once")) {
      return bridge.callApi(request, true);
    }
    throw e;
  }
}

function renderResponse(answer) {
  response = answer;
  const status = $("api-status");
  status.textContent = String(response.status);
  status.className = `pill ${response.status < 400 ? "ok" : "bad"}`;
  setText("api-time", `${response.elapsed_ms} ms`);
  setText("api-size", bytes(response.size_bytes));
  show("api-why", Boolean(response.why));
  setText("api-why", response.why || "");
  show("api-truncated", response.truncated);
  setText("api-truncated", response.truncation_note || "");
  setText("api-resp-headers", response.headers.map(([k, v]) => `${k}: ${v}`).join("\n"));
  renderBody();
  show("api-response", true);
}

/* The body, pretty-printed or raw, with the search's matches marked (text nodes only). */
function renderBody() {
  if (!response) return;
  const text = $("api-view-pretty").checked ? prettyBody(response.body) : response.body;
  const needle = $("api-search").value;
  const box = $("api-resp-body");
  if (!needle) {
    box.textContent = text;
    setText("api-search-count", "");
    return;
  }
  const nodes = [];
  const lower = text.toLowerCase();
  const find = needle.toLowerCase();
  let at = 0;
  let count = 0;
  for (let i = lower.indexOf(find); i !== -1; i = lower.indexOf(find, i + find.length)) {
    nodes.push(text.slice(at, i), el("mark", { text: text.slice(i, i + find.length) }));
    at = i + find.length;
    count += 1;
  }
  nodes.push(text.slice(at));
  box.replaceChildren(...nodes.map((n) => (n instanceof Node ? n : document.createTextNode(n))));
  setText("api-search-count", count === 1 ? "1 match" : `${count} matches`);
  const first = box.querySelector("mark");
  if (first) first.scrollIntoView({ block: "nearest" });
}
