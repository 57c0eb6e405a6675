/* The API console's form as a request and back: what is sent, saved and copied as curl, and
 * the editors of query parameters and headers. Part of the console view. */

import { $, el, setText } from "../../dom.js";

/** Adds a name/value row to the parameters or headers editor. */
export function pairRow(container, name = "", value = "") {
  const label = container.id === "api-params" ? "parameter" : "header";
  const row = el("div", { class: "pair" },
    el("input", { class: "pair-name", "aria-label": `${label} name`, spellcheck: "false", placeholder: "name" }),
    el("input", { class: "pair-value", "aria-label": `${label} value`, spellcheck: "false", placeholder: "value" }),
    el("button", { type: "button", class: "small ghost", "aria-label": `Remove ${label}`, onclick: () => { row.remove(); countPairs(); } }, "×"));
  row.children[0].value = name;
  row.children[1].value = value;
  row.addEventListener("input", countPairs);
  container.append(row);
  countPairs();
  return row;
}

function pairs(container) {
  return Array.from(container.querySelectorAll(".pair"))
    .map((row) => [row.querySelector(".pair-name").value.trim(), row.querySelector(".pair-value").value])
    .filter(([name]) => name);
}

function countPairs() {
  const n = (id) => pairs($(id)).length;
  setText("api-params-count", n("api-params") ? String(n("api-params")) : "");
  setText("api-headers-count", n("api-headers") ? String(n("api-headers")) : "");
}

/* The form as a request. A query typed in the URL stays in the URL; the editor's parameters
 * are added to it. */
export function formRequest() {
  const sigv4 = $("api-scheme").value === "sigv4";
  return {
    method: $("api-method").value,
    url: $("api-url").value.trim(),
    params: pairs($("api-params")),
    headers: pairs($("api-headers")),
    body: $("api-body").value || null,
    token: $("api-token").value,
    scheme: $("api-scheme").value,
    token_header: $("api-token-header").value.trim() || "Authorization",
    timeout_secs: Math.max(1, Math.min(600, parseInt($("api-timeout").value, 10) || 30)),
    aws_service: sigv4 ? ($("api-service").value.trim() || null) : null,
    aws_region: sigv4 ? ($("api-region").value.trim() || null) : null,
  };
}

/** Puts a saved or earlier request back in the form. */
export function fillForm(request) {
  $("api-method").value = request.method;
  $("api-url").value = request.url;
  $("api-params").replaceChildren();
  $("api-headers").replaceChildren();
  for (const [k, v] of request.params || []) pairRow($("api-params"), k, v);
  for (const [k, v] of request.headers || []) pairRow($("api-headers"), k, v);
  $("api-body").value = request.body || "";
  $("api-token").value = request.token;
  $("api-scheme").value = request.scheme;
  $("api-token-header").value = request.token_header;
  $("api-timeout").value = String(request.timeout_secs);
  $("api-service").value = request.aws_service || "execute-api";
  $("api-region").value = request.aws_region || "";
  syncScheme();
  countPairs();
}

/** Shows the token fields or the SigV4 fields, as the scheme says. */
export function syncScheme() {
  const sigv4 = $("api-scheme").value === "sigv4";
  for (const part of document.querySelectorAll("[data-scheme-part]")) {
    part.hidden = (part.dataset.schemePart === "sigv4") !== sigv4;
  }
}
