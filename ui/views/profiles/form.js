/* The profile form as a draft, as the profiles file would say it, and back; core checks the
 * draft with the file's own messages. Part of the profiles view. */

import { $, el } from "../../dom.js";

/* Which form field holds which setting of the profiles file. */
const TEXT_FIELDS = {
  client_id: "pf-client", region: "pf-region", user_pool_id: "pf-pool", domain: "pf-domain",
  redirect_host: "pf-redirect-host", redirect_path: "pf-redirect-path", sign_out_uri: "pf-sign-out",
  identity_provider: "pf-idp", api_token: "pf-api-token", api_scheme: "pf-api-scheme",
  api_token_header: "pf-api-header",
};
const LIST_FIELDS = { scopes: "pf-scopes", api_base_urls: "pf-api" };
const SECONDS_FIELDS = {
  sign_in_timeout_secs: "pf-sign-in-timeout", http_timeout_secs: "pf-http-timeout",
  refresh_margin_secs: "pf-refresh-margin", clock_leeway_secs: "pf-leeway",
};

/** Offers each browser profile found on this computer (`{label, argv}`) in the Browser
 * choice, between "open nothing" and "Custom command…". */
export function setBrowserChoices(found) {
  const select = $("pf-browser");
  for (const old of select.querySelectorAll("option[data-found]")) old.remove();
  const custom = select.querySelector('option[value="custom"]');
  for (const browser of found) {
    custom.before(el("option", { value: JSON.stringify(browser.argv), "data-found": "", text: browser.label }));
  }
}

/** Shows the custom command's field when "Custom command…" is chosen. */
export function syncBrowser() {
  $("pf-browser-custom-box").hidden = $("pf-browser").value !== "custom";
}

/* `browser` as the file would say it: "none", a list, or null for the system browser. */
function browserDraft(configPath) {
  const choice = $("pf-browser").value;
  if (choice === "system") return null;
  if (choice === "none") return "none";
  const text = choice === "custom" ? $("pf-browser-custom").value.trim() : choice;
  const fix = 'write a list of strings, the program first, e.g. ["firefox", "-P", "work", "{url}"]';
  let argv;
  try { argv = JSON.parse(text); } catch { argv = null; }
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string")) {
    throw new Error(profileError(configPath, "browser", `\`${text}\` is not a list of strings`, fix));
  }
  return argv;
}

/* Selects `browser` (from a draft) in the Browser choice: a found browser when it is one. */
function fillBrowser(browser) {
  const select = $("pf-browser");
  const asJson = Array.isArray(browser) ? JSON.stringify(browser) : null;
  const found = asJson && [...select.options].some((o) => o.value === asJson);
  if (!browser || browser === "system") select.value = "system";
  else if (browser === "none") select.value = "none";
  else select.value = found ? asJson : "custom";
  $("pf-browser-custom").value = asJson && !found ? asJson : "";
  syncBrowser();
}

function formKind() { return document.querySelector('input[name="kind"]:checked').value; }

/** Shows the fields of the chosen provider kind. */
export function syncKind() {
  for (const field of document.querySelectorAll("[data-kind]")) field.hidden = field.dataset.kind !== formKind();
}

/* A message in the shape of the profiles file's, naming the file at `configPath`. */
function profileError(configPath, field, problem, fix = "write a whole number") {
  const path = configPath || "config.toml";
  return `${path}: profile \`${$("pf-name").value.trim()}\`, field \`${field}\`: ${problem}. Fix: ${fix}`;
}

/** The form as a draft. Settings the form has no field for (`kept`, when editing) stay as
 * they were. Throws an Error with the file's kind of message for a field it cannot read. */
export function formDraft(kept, configPath) {
  const text = (id) => $(id).value.trim() || null;
  const words = (id) => $(id).value.split(/[\s,]+/).filter(Boolean);
  const kind = formKind();
  const draft = { ...(kept || {}) };
  draft.kind = kind;
  for (const [field, id] of Object.entries(TEXT_FIELDS)) draft[field] = text(id);
  for (const [field, id] of Object.entries(LIST_FIELDS)) draft[field] = words(id).length ? words(id) : null;
  if (kind === "cognito") {
    draft.issuer = text("pf-issuer-override");
  } else {
    draft.issuer = text("pf-issuer") ?? "";
    draft.region = draft.user_pool_id = draft.domain = null;
  }
  for (const [field, id] of Object.entries(SECONDS_FIELDS)) {
    const raw = $(id).value.trim();
    if (!raw) { draft[field] = null; continue; }
    if (!/^-?\d+$/.test(raw)) throw new Error(profileError(configPath, field, `\`${raw}\` is not a whole number of seconds`));
    draft[field] = Number(raw);
  }
  const ports = words("pf-ports");
  const badPort = ports.find((p) => !/^-?\d+$/.test(p));
  if (badPort) throw new Error(profileError(configPath, "ports", `\`${badPort}\` is not a port number`));
  draft.any_port = $("pf-any-port").checked ? true : null;
  draft.ports = ports.length ? ports.map(Number) : null;
  if (kind === "oidc" && !draft.ports && draft.any_port === null) draft.any_port = true;
  const expect = $("pf-expect").value.split("\n").map((l) => l.trim()).filter(Boolean);
  draft.expect = expect.length ? expect : null;
  draft.authorize_params = authorizeParams(configPath);
  draft.aws = awsDraft(draft.aws, text);
  draft.browser = browserDraft(configPath);
  delete draft.browser_command;
  for (const key of Object.keys(draft)) if (draft[key] === null || draft[key] === undefined) delete draft[key];
  if (kind === "cognito") {
    for (const key of ["region", "user_pool_id", "domain"]) draft[key] = draft[key] ?? "";
  }
  return draft;
}

function authorizeParams(configPath) {
  const params = {};
  for (const line of $("pf-authorize-params").value.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at < 1) throw new Error(profileError(configPath, "authorize_params", `\`${line}\` is not key=value`, "write one parameter a line, e.g. lang=fr"));
    params[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return Object.keys(params).length ? params : null;
}

/* The identity pool's settings; the form has no field for the pool's region: an edited
 * profile keeps its own. */
function awsDraft(kept, text) {
  if (!text("pf-identity-pool")) return null;
  const aws = { ...(kept || {}), identity_pool_id: text("pf-identity-pool"), role_arn: text("pf-role"),
    identity_endpoint: text("pf-identity-endpoint"), flow: $("pf-flow").value };
  for (const key of Object.keys(aws)) if (aws[key] === null) delete aws[key];
  return aws;
}

/** Puts profile `name`'s draft in the form. */
export function fillForm(name, draft) {
  const kind = draft.kind || (draft.user_pool_id ? "cognito" : "oidc");
  document.querySelector(`input[name="kind"][value="${kind}"]`).checked = true;
  syncKind();
  $("pf-name").value = name || "";
  for (const [field, id] of Object.entries(TEXT_FIELDS)) $(id).value = draft[field] ?? "";
  for (const [field, id] of Object.entries(LIST_FIELDS)) $(id).value = (draft[field] || []).join(" ");
  for (const [field, id] of Object.entries(SECONDS_FIELDS)) $(id).value = draft[field] ?? "";
  $("pf-issuer").value = kind === "oidc" ? draft.issuer ?? "" : "";
  $("pf-issuer-override").value = kind === "cognito" ? draft.issuer ?? "" : "";
  $("pf-ports").value = (draft.ports || []).join(" ");
  $("pf-any-port").checked = draft.any_port === true;
  $("pf-expect").value = (draft.expect || []).join("\n");
  $("pf-authorize-params").value = Object.entries(draft.authorize_params || {}).map(([k, v]) => `${k}=${v}`).join("\n");
  const aws = draft.aws || {};
  $("pf-identity-pool").value = aws.identity_pool_id ?? "";
  $("pf-role").value = aws.role_arn ?? "";
  $("pf-identity-endpoint").value = aws.identity_endpoint ?? "";
  $("pf-flow").value = aws.flow || "enhanced";
  $("pf-aws").open = Boolean(draft.aws);
  fillBrowser(draft.browser);
  if (!draft.scopes) $("pf-scopes").value = "openid email profile";
}
