/* Latchkey UI: renders what the Rust side says and sends the user's intents back.
 * It never decides state, and it inserts every value as text (never as HTML). */
"use strict";

const tauri = window.__TAURI__;
const invoke = (cmd, args) => tauri.core.invoke(cmd, args);
const $ = (id) => document.getElementById(id);

const ui = {
  info: null,
  session: null,
  view: "session",
  inspectorToken: "id",
  inspection: null,
  /* The token shown in the raw view when it is a pasted one (current tokens are fetched
   * only when the user reveals them). */
  pastedToken: null,
  rawRevealed: false,
  expectations: [],
  console: { saved: [], history: [] },
  response: null,
  sending: false,
  editing: null, // the name of the profile the form edits, or null for a new one
  editingDraft: null, // that profile's draft as loaded (settings the form has no field for survive)
  tick: null,
  aws: null,
};

/* ---------- small DOM helpers: text only ---------- */
function el(tag, props = {}, ...children) {
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
function setText(id, value) { $(id).textContent = value ?? "—"; }
function show(id, visible) { $(id).hidden = !visible; }

function messageOf(err) {
  return typeof err === "string" ? err : (err && err.message) || String(err);
}
function showError(err) {
  setText("error-text", messageOf(err));
  show("error", true);
}

/* ---------- the app's own questions and notices (no window.confirm) ---------- */
let modalAnswer = null;
function ask(title, text, okLabel) {
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
let toastTimer = null;
function toast(text) {
  setText("toast", text);
  show("toast", true);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => show("toast", false), 6000);
}
function clearError() { show("error", false); }

/* ---------- times ---------- */
function relative(seconds) {
  const abs = Math.abs(seconds);
  const unit = abs < 90 ? [Math.round(abs), "s"]
    : abs < 5400 ? [Math.round(abs / 60), "min"]
    : abs < 172800 ? [Math.round(abs / 3600), "h"]
    : [Math.round(abs / 86400), "days"];
  return seconds >= 0 ? `in ${unit[0]} ${unit[1]}` : `${unit[0]} ${unit[1]} ago`;
}
function utc(secs) { return new Date(secs * 1000).toISOString().replace(".000Z", "Z").replace("T", " "); }
function now() { return Date.now() / 1000; }
function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/* ---------- navigation ---------- */
function go(view) {
  ui.view = view;
  for (const button of document.querySelectorAll(".nav")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".view")) {
    section.hidden = section.id !== `view-${view}`;
  }
  if (view === "inspector") loadInspector();
  if (view === "console") loadConsole();
  if (view === "aws") loadAws();
  if (view === "activity") loadActivity();
  if (view === "settings") renderProfiles();
}

/* ---------- app info, profiles, vault ---------- */
async function loadInfo() {
  ui.info = await invoke("app_info");
  const info = ui.info;
  ui.expectations = info.expectations || [];
  const select = $("profile-select");
  select.replaceChildren(...info.profiles.filter((p) => !p.invalid).map((p) =>
    el("option", { value: p.name, ...(p.name === info.active_profile ? { selected: "" } : {}) }, p.name)));
  const vault = $("vault-status");
  vault.textContent = info.vault.ok ? `Keychain: ${info.vault.store}` : `⚠ ${info.vault.message}`;
  vault.classList.toggle("warn", !info.vault.ok);
  const problems = [];
  if (info.config_error) problems.push(info.config_error);
  for (const p of info.profiles.filter((p) => p.invalid)) {
    problems.push(`Profile “${p.name}” is set aside: ${p.invalid} Fix or remove it in Profiles & settings.`);
  }
  if (!info.vault.ok) problems.push(`${info.vault.message} The session is kept in memory only and ends when Latchkey quits.`);
  show("banner", problems.length > 0);
  setText("banner", problems.join(" "));
  show("demo-banner", Boolean(info.demo));
  if (info.demo) {
    setText("demo-username", info.demo.username);
    setText("demo-password", info.demo.password);
    setText("viewer-username", info.demo.viewer_username);
    setText("viewer-password", info.demo.viewer_password);
  }
  setText("provider-name", info.provider_label);
  setText("api-base", (info.api_bases || []).join(", ") || "(none configured)");
  setText("about-version", info.version);
  setText("about-commit", info.commit);
  setText("about-licences", info.licences);
}

function renderProfiles() {
  if (!ui.info) return;
  const list = $("profiles");
  list.replaceChildren(...ui.info.profiles.map((p) => el("li", { "data-profile": p.name },
    el("strong", { text: p.name }),
    el("span", { class: p.invalid ? "pill bad" : "pill", text: p.kind }),
    p.invalid ? el("span", { class: "reason", text: p.invalid }) : el("code", { text: p.issuer }),
    p.name === ui.info.active_profile ? el("span", { class: "pill ok", text: "active" })
      : p.invalid ? "" : el("button", { class: "small", "data-action": "use", onclick: () => useProfile(p.name) }, "Use"),
    el("button", { class: "small", "data-action": "edit", onclick: () => editProfile(p.name) }, p.invalid ? "Fix" : "Edit"),
    p.invalid ? "" : el("button", { class: "small", "data-action": "export", onclick: () => exportProfile(p.name) }, "Export…"),
    p.removable ? el("button", { class: "small ghost", "data-action": "remove", onclick: () => removeProfile(p.name) }, "Remove") : "",
  )));
}

async function useProfile(name) {
  try {
    clearError();
    await invoke("use_profile", { name });
    await loadInfo();
    renderProfiles();
    render(await invoke("session_state"));
    if (ui.view === "console") loadConsole();
  } catch (e) { showError(e); }
}

async function removeProfile(name) {
  const yes = await ask(`Remove profile “${name}”?`,
    "Latchkey signs this profile out (its refresh token is revoked and removed from the keychain) and deletes it from the profiles file.",
    "Remove");
  if (!yes) return;
  try {
    await invoke("remove_profile", { name });
    await loadInfo();
    renderProfiles();
  } catch (e) { showError(e); }
}

/* ---------- session ---------- */
function render(session) {
  ui.session = session;
  const state = session.state;
  show("signed-out", state === "signed_out" || state === "error");
  show("waiting", state === "signing_in");
  show("signed-in", state === "signed_in" || state === "refreshing");
  setText("signout-reason", session.reason || "");
  if (state === "error" && session.error) showError(session.error);
  if (state === "signing_in") {
    $("authorize-url").value = session.authorize_url || "";
    setText("redirect-uri", session.redirect_uri);
  }
  if (session.user) {
    setText("user-name", session.user.name);
    setText("user-username", session.user.username);
    setText("user-email", session.user.email);
    setText("user-groups", (session.user.groups || []).join(", ") || "(none)");
    setText("user-sub", session.user.sub);
  }
  setText("session-profile", session.profile);
  setText("session-issuer", session.issuer);
  setText("session-client", session.client_id);
  setText("session-store", session.store);
  for (const id of ["signin", "signin-another", "signup"]) $(id).disabled = state === "signing_in";
  drawTimelines();
  tickCountdown();
  // The AWS view follows when the credentials it shows were replaced (or went with a sign-out).
  if (ui.view === "aws" && ui.aws &&
      (session.aws_expires_at ?? null) !== Math.round(Date.parse(ui.aws.expires_at) / 1000)) loadAws();
}

/* One lifetime bar: issued → expires, the part where Latchkey renews hatched. */
function timeline(name, issuedAt, expiresAt, marginSecs) {
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

function drawTimelines() {
  const session = ui.session;
  const box = $("timelines");
  if (!session || !session.tokens) { box.replaceChildren(); return; }
  box.replaceChildren(...session.tokens.map((token) =>
    timeline(token.name, token.issued_at, token.expires_at, session.refresh_margin_secs || 0)));
}

function tickCountdown() {
  const s = ui.session;
  if (s && s.state === "signing_in" && s.expires_at) {
    const left = s.expires_at - now();
    const total = Math.max(1, s.expires_at - (s.started_at || s.expires_at - 300));
    setText("countdown", clock(left));
    $("countdown-bar").value = Math.max(0, (left / total) * 100);
  }
  if (s && (s.state === "signed_in" || s.state === "refreshing") && ui.view === "session") drawTimelines();
  if (ui.aws && ui.view === "aws") drawAwsTimeline();
}

async function signIn(entry) {
  clearError();
  try {
    render(await invoke("sign_in", { entry }));
    await loadInfo();
  } catch (e) {
    showError(e);
    render(await invoke("session_state"));
  }
}

async function signOut(everywhere) {
  clearError();
  if (everywhere && !await ask("Sign out everywhere?",
    "Every session of this user at the provider ends: this app, the latchkey CLI and other devices. Then the provider's logout page opens in your browser to end the browser session too.",
    "Sign out everywhere")) return;
  try {
    const outcome = await invoke("sign_out", { everywhere });
    if (outcome.warnings && outcome.warnings.length) showError(outcome.warnings.join(" "));
    if (outcome.signed_out_everywhere) {
      toast("Signed out on every device. The provider's logout page opened to end the browser session.");
    }
    render(await invoke("session_state"));
  } catch (e) { showError(e); }
}

async function switchUser() {
  clearError();
  try {
    render(await invoke("switch_user"));
    await loadInfo();
  } catch (e) {
    showError(e);
    render(await invoke("session_state"));
  }
}

/* ---------- inspector ---------- */
async function loadInspector() {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.setAttribute("aria-selected", String(tab.dataset.token === ui.inspectorToken));
  }
  $("inspector-panel").setAttribute("aria-labelledby", `tab-${ui.inspectorToken}`);
  show("paste-box", ui.inspectorToken === "paste");
  show("refresh-view", false);
  show("userinfo-view", false);
  show("jwt-view", false);
  show("inspector-empty", false);
  if (ui.inspectorToken === "paste") return;
  try {
    if (ui.inspectorToken === "refresh") {
      const info = await invoke("refresh_token_info");
      if (!info) { emptyInspector("Not signed in: there is no refresh token."); return; }
      setText("rt-kind", info.kind);
      setText("rt-length", `${info.length} characters`);
      setText("rt-since", info.stored_since ? `${utc(info.stored_since)} (${relative(info.stored_since - now())})` : "—");
      setText("rt-store", info.store);
      show("refresh-view", true);
      return;
    }
    if (ui.inspectorToken === "userinfo") {
      renderUserinfo(await invoke("userinfo"));
      return;
    }
    ui.pastedToken = null;
    renderInspection(await invoke("inspect_token", { which: ui.inspectorToken }));
  } catch (e) {
    emptyInspector(messageOf(e));
  }
}

function emptyInspector(message) {
  setText("inspector-empty", message);
  show("inspector-empty", true);
}

function valueText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function renderUserinfo(info) {
  $("userinfo").tBodies[0].replaceChildren(...Object.entries(info).map(([name, value]) =>
    el("tr", { "data-attribute": name },
      el("td", { class: "claim", text: name }),
      el("td", { class: "value", text: valueText(value) }))));
  setText("userinfo-raw", JSON.stringify(info, null, 2));
  show("userinfo-view", true);
}

function renderInspection(inspection) {
  ui.inspection = inspection;
  const checks = inspection.checks.map((check) =>
    el("li", { class: check.passed ? "pass" : "fail", "data-check": check.name },
      el("span", { class: "mark", "aria-label": check.passed ? "passed" : "failed", text: check.passed ? "✓" : "✗" }),
      el("span", { class: "name", text: check.name }),
      el("span", { class: "reason", text: check.reason })));
  const expectations = (inspection.expectations || []).map((e) =>
    el("li", { class: `expect ${e.passed ? "pass" : "fail"}`, "data-check": "expect", "data-expectation": e.expectation },
      el("span", { class: "mark", "aria-label": e.passed ? "met" : "not met", text: e.passed ? "✓" : "✗" }),
      el("span", { class: "name", text: `expect ${e.expectation}` }),
      el("span", { class: "reason", text: e.reason })));
  $("checks").replaceChildren(...checks, ...expectations);
  $("claims").tBodies[0].replaceChildren(...inspection.claims.map((claim) =>
    el("tr", { "data-claim": claim.name },
      el("td", { class: "claim", text: claim.name }),
      el("td", { class: "value" }, el("span", { text: valueText(claim.value) }), claim.human ? el("span", { class: "human", text: claim.human }) : ""),
      el("td", { class: "meaning", text: claim.explanation || "" }))));
  setText("jwt-header", JSON.stringify(inspection.header, null, 2));
  setText("jwt-payload", JSON.stringify(Object.fromEntries(inspection.claims.map((c) => [c.name, c.value])), null, 2));
  show("copy-token", ui.inspectorToken !== "paste");
  ui.rawRevealed = false;
  renderRaw(null);
  renderExpectations();
  show("jwt-view", true);
}

/* The raw token in its three colours; masked (each part's first characters and its length)
 * until revealed. */
function renderRaw(token) {
  const box = $("raw-token");
  const button = $("raw-reveal");
  button.setAttribute("aria-pressed", String(Boolean(token)));
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
  if (ui.rawRevealed) { ui.rawRevealed = false; renderRaw(null); return; }
  try {
    const token = ui.inspectorToken === "paste" ? ui.pastedToken
      : await invoke("reveal_token", { which: ui.inspectorToken });
    ui.rawRevealed = true;
    renderRaw(token);
  } catch (e) { showError(e); }
}

function renderExpectations() {
  setText("expect-profile", ui.info ? ui.info.active_profile : "");
  $("expect-list").replaceChildren(...ui.expectations.map((text) => el("li", { "data-expectation": text },
    el("code", { text }),
    el("button", { class: "small ghost", "aria-label": `Remove ${text}`, onclick: () => saveExpectations(ui.expectations.filter((e) => e !== text)) }, "×"))));
}

async function saveExpectations(list) {
  show("expect-error", false);
  try {
    ui.expectations = await invoke("save_expectations", { expect: list });
    renderExpectations();
    if (ui.inspectorToken === "paste") await inspectPasted();
    else await loadInspector();
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
  if (await saveExpectations([...ui.expectations, text])) $("expect-input").value = "";
}

function verifyWith() { return document.querySelector('input[name="verify-with"]:checked').value; }
function syncVerifyWith() {
  for (const box of document.querySelectorAll("[data-verify]")) box.hidden = box.dataset.verify !== verifyWith();
}

async function inspectPasted() {
  const token = $("paste-input").value.trim();
  ui.pastedToken = token;
  show("jwt-view", false);
  show("inspector-empty", false);
  try {
    const source = verifyWith();
    if (source === "provider") {
      renderInspection(await invoke("inspect_pasted", { token }));
    } else {
      const input = { jwks_url: "verify-jwks-url", jwks: "verify-jwks", pem: "verify-pem" }[source];
      renderInspection(await invoke("inspect_with_keys", { token, keys: { [source]: $(input).value } }));
    }
  } catch (e) { emptyInspector(messageOf(e)); }
}

async function copyToken() {
  const yes = await ask("Copy this token?",
    "A token is a credential: anyone who has it can call your APIs as you until it expires. Latchkey clears it from the clipboard after a short while; paste it only where you trust.",
    "Copy token");
  if (!yes) return;
  try {
    const copied = await invoke("copy_token", { which: ui.inspectorToken });
    const message = `Copied. The clipboard is cleared in ${copied.clears_in_secs} s.`;
    setText("copy-warning", message);
    toast(message);
  } catch (e) { showError(e); }
}

async function writeClipboard(text) {
  try {
    await invoke("copy_text", { text });
    toast("Copied.");
  } catch (e) { showError(e); }
}

/* ---------- AWS credentials ---------- */
async function loadAws() {
  if (ui.awsLoading) return;
  ui.awsLoading = true;
  try { await showAws(); } finally { ui.awsLoading = false; }
}

async function showAws() {
  const session = ui.session;
  show("aws-warning", false);
  if (session && !session.identity_pool) {
    ui.aws = null;
    show("aws-details", false);
    setText("aws-empty", "This profile names no identity pool. Add its id under “AWS credentials” in Profiles & settings (or an [aws] table in the profiles file) to get AWS credentials from your sign-in.");
    show("aws-empty", true);
    return;
  }
  if (session && session.state !== "signed_in" && session.state !== "refreshing") {
    ui.aws = null;
    show("aws-details", false);
    setText("aws-empty", "Sign in first: the identity pool trades your ID token for AWS credentials.");
    show("aws-empty", true);
    return;
  }
  setText("aws-empty", "Getting AWS credentials from the identity pool…");
  show("aws-empty", !ui.aws);
  try {
    renderAws(await invoke("aws_identity"));
  } catch (e) {
    ui.aws = null;
    show("aws-details", false);
    setText("aws-empty", typeof e === "string" ? e : e.message);
    show("aws-empty", true);
  }
}

function renderAws(aws) {
  ui.aws = aws;
  setText("aws-pool", aws.identity_pool_id);
  setText("aws-flow", `${aws.flow} (region ${aws.region})`);
  setText("aws-identity-id", aws.identity_id);
  setText("aws-role", aws.role_arn || "(unknown)");
  setText("aws-role-how", aws.requested_role ? "asked for (role_arn)" : "chosen by the identity pool");
  const others = (aws.roles || []).filter((r) => r !== aws.role_arn);
  $("aws-other-roles").replaceChildren(...(others.length
    ? others.map((r) => el("code", { class: "role", text: r }))
    : [document.createTextNode("(none in the ID token)")]));
  setText("aws-caller", aws.assumed_role_arn || "—");
  setText("aws-access-key", aws.access_key_id);
  maskAwsSecret();
  setText("aws-copied", "");
  show("aws-warning", Boolean(aws.warning));
  setText("aws-warning", aws.warning || "");
  show("aws-empty", false);
  show("aws-details", true);
  drawAwsTimeline();
  invoke("aws_config_snippet").then((text) => setText("aws-snippet", text)).catch((e) => setText("aws-snippet", e.message || String(e)));
}

function drawAwsTimeline() {
  const aws = ui.aws;
  const secs = (iso) => Date.parse(iso) / 1000;
  $("aws-timeline").replaceChildren(timeline("AWS credentials", secs(aws.issued_at), secs(aws.expires_at),
    secs(aws.expires_at) - secs(aws.refresh_due_at)));
}

function maskAwsSecret() {
  const secret = $("aws-secret");
  secret.textContent = "••••••••••••••••••••";
  secret.dataset.masked = "true";
  $("aws-reveal").textContent = "Reveal…";
}

async function toggleAwsSecret() {
  if ($("aws-secret").dataset.masked !== "true") { maskAwsSecret(); return; }
  const ok = await ask("Show the secret access key?",
    "With the access key id and session token it acts as this role until it expires.", "Show it");
  if (!ok) return;
  try {
    $("aws-secret").textContent = await invoke("reveal_aws");
    $("aws-secret").dataset.masked = "false";
    $("aws-reveal").textContent = "Hide";
  } catch (e) { showError(e); }
}

async function copyAwsEnvironment() {
  const ok = await ask("Copy the AWS credentials as environment variables?",
    "Anyone who has them can act as this role until they expire. Paste them only where you trust.", "Copy them");
  if (!ok) return;
  try {
    const copied = await invoke("copy_aws_environment");
    const message = `Copied export lines. The clipboard is cleared in ${copied.clears_in_secs} s.`;
    setText("aws-copied", message);
    toast(message);
  } catch (e) { showError(e); }
}

async function copyAwsConfig() {
  try {
    const text = await invoke("aws_config_snippet");
    setText("aws-snippet", text);
    await writeClipboard(text);
    setText("aws-copied", "Copied the ~/.aws/config section (it holds no secret).");
  } catch (e) { showError(e); }
}

/* ---------- API console ---------- */
function pairRow(container, name = "", value = "") {
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

/* The console's form as a request: what is sent, saved and copied as curl. A query typed
 * in the URL stays in the URL; the editor's parameters are added to it. */
function consoleRequest() {
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
    aws_service: $("api-scheme").value === "sigv4" ? ($("api-service").value.trim() || null) : null,
    aws_region: $("api-scheme").value === "sigv4" ? ($("api-region").value.trim() || null) : null,
  };
}
function fillConsole(request) {
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

async function loadConsole() {
  try { renderConsole(await invoke("console_load")); } catch (e) { showError(e); }
}
function bytes(n) {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`;
}
function renderConsole(data) {
  ui.console = data;
  show("api-saved-empty", data.saved.length === 0);
  $("api-saved").replaceChildren(...data.saved.map((s) => el("li", { "data-saved": s.name },
    el("strong", { text: s.name }),
    el("code", { text: `${s.request.method} ${s.request.url}` }),
    el("span", { class: "spacer" }),
    el("button", { class: "small", "data-action": "run", onclick: () => { fillConsole(s.request); sendApi(); } }, "Run"),
    el("button", { class: "small", "data-action": "load", onclick: () => { fillConsole(s.request); $("api-save-name").value = s.name; } }, "Edit"),
    el("button", { class: "small ghost", "data-action": "delete", onclick: () => deleteSaved(s.name) }, "Delete"))));
  $("api-history").replaceChildren(...data.history.slice(0, 50).map((h, i) => el("li", { "data-history": String(i) },
    h.status ? el("span", { class: `pill ${h.status < 400 ? "ok" : "bad"}`, text: String(h.status) })
      : el("span", { class: "pill bad", title: h.error || "", text: "—" }),
    el("code", { text: `${h.request.method} ${h.request.url}` }),
    el("span", { class: "muted", text: h.status ? `${h.elapsed_ms} ms · ${bytes(h.size_bytes)}` : (h.error || "") }),
    el("span", { class: "spacer" }),
    el("button", { class: "small", "data-action": "rerun", onclick: () => { fillConsole(h.request); sendApi(); } }, "Re-run"))));
}
async function deleteSaved(name) {
  const yes = await ask(`Delete “${name}”?`, "The saved request is removed from this profile.", "Delete");
  if (!yes) return;
  try { renderConsole(await invoke("console_delete", { name })); } catch (e) { showError(e); }
}
async function saveRequest() {
  clearError();
  try {
    renderConsole(await invoke("console_save", { name: $("api-save-name").value.trim(), request: consoleRequest() }));
    toast("Saved, without any token: Latchkey adds it when the request is sent.");
  } catch (e) { showError(e); }
}
async function copyCurl() {
  clearError();
  try {
    const text = await invoke("curl_command", { request: consoleRequest() });
    $("api-curl").value = text;
    show("api-curl-box", true);
    await invoke("copy_text", { text });
    toast("Copied as curl: the token comes from `latchkey token` when the command runs.");
  } catch (e) { showError(e); }
}

function setSending(sending) {
  ui.sending = sending;
  $("api-send").disabled = sending;
  show("api-cancel", sending);
}

async function sendApi(event) {
  if (event) event.preventDefault();
  if (ui.sending) return;
  clearError();
  const request = consoleRequest();
  setSending(true);
  try {
    let response;
    try {
      response = await invoke("call_api", { request, allowAnyOrigin: false });
    } catch (e) {
      const what = request.scheme === "sigv4" ? "a request signed with your AWS credentials" : "your token";
      if (e && e.kind === "origin_not_allowed" && !/plain http/.test(e.message) &&
          await ask(`Send ${what} to this origin?`, `${e.message}\n\nSend it for this one call?`, "Send it once")) {
        response = await invoke("call_api", { request, allowAnyOrigin: true });
      } else {
        throw e;
      }
    }
    renderResponse(response);
  } catch (e) {
    showError(e);
  } finally {
    setSending(false);
    loadConsole();
  }
}

function prettyBody(body) {
  try { return JSON.stringify(JSON.parse(body), null, 2); } catch { return body; }
}

function renderResponse(response) {
  ui.response = response;
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
  if (!ui.response) return;
  const pretty = $("api-view-pretty").checked;
  const text = pretty ? prettyBody(ui.response.body) : ui.response.body;
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

function syncScheme() {
  const sigv4 = $("api-scheme").value === "sigv4";
  for (const part of document.querySelectorAll("[data-scheme-part]")) {
    part.hidden = (part.dataset.schemePart === "sigv4") !== sigv4;
  }
}

/* ---------- activity ---------- */
function activityItem(entry) {
  return el("li", { class: `lvl-${entry.level}` },
    el("span", { text: new Date(entry.at_ms).toISOString().slice(11, 23) }),
    el("span", { text: entry.level }),
    el("span", { text: entry.message }));
}
async function loadActivity() {
  const entries = await invoke("activity_log");
  $("activity").replaceChildren(...entries.map(activityItem));
}

/* ---------- profile form ---------- */
function formKind() { return document.querySelector('input[name="kind"]:checked').value; }
function syncKind() {
  for (const field of document.querySelectorAll("[data-kind]")) field.hidden = field.dataset.kind !== formKind();
}

/* Which form field holds which setting of the profiles file. */
const TEXT_FIELDS = {
  client_id: "pf-client", region: "pf-region", user_pool_id: "pf-pool", domain: "pf-domain",
  redirect_host: "pf-redirect-host", redirect_path: "pf-redirect-path", sign_out_uri: "pf-sign-out",
  identity_provider: "pf-idp", api_token: "pf-api-token", api_scheme: "pf-api-scheme",
  api_token_header: "pf-api-header",
};
const LIST_FIELDS = { scopes: "pf-scopes", api_base_urls: "pf-api", browser_command: "pf-browser" };
const SECONDS_FIELDS = {
  sign_in_timeout_secs: "pf-sign-in-timeout", http_timeout_secs: "pf-http-timeout",
  refresh_margin_secs: "pf-refresh-margin", clock_leeway_secs: "pf-leeway",
};

function profileError(name, field, problem, fix = "write a whole number") {
  const path = (ui.info && ui.info.config_path) || "config.toml";
  return `${path}: profile \`${name}\`, field \`${field}\`: ${problem}. Fix: ${fix}`;
}

/* The form as a draft, as the profiles file would say it; core checks it with the file's
 * messages. Settings the form has no field for (when editing) are kept as they were. */
function formDraft() {
  const text = (id) => $(id).value.trim() || null;
  const words = (id) => $(id).value.split(/[\s,]+/).filter(Boolean);
  const kind = formKind();
  const draft = { ...(ui.editingDraft || {}) };
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
    if (!/^-?\d+$/.test(raw)) throw new Error(profileError($("pf-name").value.trim(), field, `\`${raw}\` is not a whole number of seconds`));
    draft[field] = Number(raw);
  }
  const ports = words("pf-ports");
  const badPort = ports.find((p) => !/^-?\d+$/.test(p));
  if (badPort) throw new Error(profileError($("pf-name").value.trim(), "ports", `\`${badPort}\` is not a port number`));
  draft.any_port = $("pf-any-port").checked ? true : null;
  draft.ports = ports.length ? ports.map(Number) : null;
  if (kind === "oidc" && !draft.ports && draft.any_port === null) draft.any_port = true;
  const expect = $("pf-expect").value.split("\n").map((l) => l.trim()).filter(Boolean);
  draft.expect = expect.length ? expect : null;
  const params = {};
  for (const line of $("pf-authorize-params").value.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at < 1) throw new Error(profileError($("pf-name").value.trim(), "authorize_params", `\`${line}\` is not key=value`, "write one parameter a line, e.g. lang=fr"));
    params[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  draft.authorize_params = Object.keys(params).length ? params : null;
  if (text("pf-identity-pool")) {
    // the form has no field for the pool's region: an edited profile keeps its own
    const aws = { ...(draft.aws || {}), identity_pool_id: text("pf-identity-pool"), role_arn: text("pf-role"),
      identity_endpoint: text("pf-identity-endpoint"), flow: $("pf-flow").value };
    for (const key of Object.keys(aws)) if (aws[key] === null) delete aws[key];
    draft.aws = aws;
  } else {
    draft.aws = null;
  }
  for (const key of Object.keys(draft)) if (draft[key] === null || draft[key] === undefined) delete draft[key];
  if (kind === "cognito") {
    for (const key of ["region", "user_pool_id", "domain"]) draft[key] = draft[key] ?? "";
  }
  return draft;
}

function fillForm(name, draft) {
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
  if (!draft.scopes) $("pf-scopes").value = "openid email profile";
}

function resetProfileResults() {
  show("pf-error", false);
  show("pf-result", false);
  show("pf-probe-box", false);
}

async function editProfile(name) {
  clearError();
  try {
    const draft = await invoke("profile_draft", { name });
    ui.editing = name;
    ui.editingDraft = draft;
    fillForm(name, draft);
    $("pf-name").readOnly = true;
    setText("pf-title", `Edit profile “${name}”`);
    show("pf-cancel-edit", true);
    resetProfileResults();
    $("profile-form").scrollIntoView({ block: "start" });
    $("pf-client").focus();
  } catch (e) { showError(e); }
}

function newProfile(draft = {}, name = "") {
  ui.editing = null;
  ui.editingDraft = null;
  fillForm(name, { kind: "cognito", ports: [53682, 53683, 53684], ...draft });
  $("pf-name").readOnly = false;
  setText("pf-title", "Connect your Cognito user pool");
  show("pf-cancel-edit", false);
  resetProfileResults();
}

/* Import: the profiles of a file (or pasted text) are reviewed first; only the button under a
 * review saves it, and an existing name is replaced only by its "Replace profile NAME". */
async function importProfile() {
  clearError();
  try { showImportReview(await invoke("review_import_file")); } catch (e) { showError(e); }
}

async function reviewPastedProfile() {
  clearError();
  try { showImportReview(await invoke("review_import_text", { text: $("import-text").value })); } catch (e) { showError(e); }
}

function showImportReview(reviews) {
  if (!reviews.length) return;
  $("import-review-list").replaceChildren(...reviews.map(importReviewCard));
  show("import-review", true);
  $("import-review").scrollIntoView({ block: "start" });
}

function importReviewCard(review) {
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
    await invoke("confirm_import", { name: review.name, replace: review.replaces });
    const card = document.querySelector(`[data-import="${CSS.escape(review.name)}"]`);
    if (card) card.remove();
    if (!$("import-review-list").children.length) { show("import-review", false); $("import-text").value = ""; }
    setText("profiles-status", review.replaces ? `Replaced profile “${review.name}”.` : `Saved profile “${review.name}”.`);
    await loadInfo();
    renderProfiles();
    render(await invoke("session_state"));
  } catch (e) { showError(e); }
}

/* Sessions in the keychain that no profile reaches: listed, then (when the user agrees)
 * revoked where possible and deleted. */
async function removeStraySessions() {
  clearError();
  try {
    const strays = await invoke("stray_sessions");
    if (!strays.length) { setText("profiles-status", "No stray sessions: every Latchkey item in the keychain belongs to a profile."); return; }
    const lines = strays.map((s) => `“${s.profile_name}” (${s.issuer}, client ${s.client_id}): ${s.session ? "a session" : "pieces of a session"}${s.aws_credentials ? " and AWS credentials" : ""}${s.invalid_profile ? " — kept while the invalid profile is in the file" : ""}`);
    const yes = await ask(`Remove ${strays.length} stray session${strays.length === 1 ? "" : "s"}?`,
      `${lines.join("; ")}. Their refresh tokens are revoked where the provider can be reached, and every item is deleted from the keychain.`,
      "Revoke and delete");
    if (!yes) return;
    const done = await invoke("remove_stray_sessions");
    setText("profiles-status", done.join(" "));
  } catch (e) { showError(e); }
}

function cancelImport() {
  $("import-review-list").replaceChildren();
  show("import-review", false);
  setText("profiles-status", "Nothing was imported.");
}

async function exportProfile(name) {
  clearError();
  try {
    const path = await invoke("export_profile", { name });
    if (path) setText("profiles-status", `Exported “${name}” to ${path} (a profile holds no secret).`);
  } catch (e) { showError(e); }
}

function formError(e) {
  setText("pf-error", messageOf(e));
  show("pf-error", true);
}

async function saveProfile(event) {
  event.preventDefault();
  clearError();
  resetProfileResults();
  let draft;
  try { draft = formDraft(); } catch (e) { formError(e); return; }
  $("pf-save").disabled = true;
  try {
    const result = await invoke("save_profile", { name: $("pf-name").value.trim(), draft, editing: Boolean(ui.editing) });
    setText("pf-message", result.message);
    $("pf-urls").replaceChildren(
      ...result.redirect_uris.map((u) => urlRow("Callback URL", u)),
      ...result.sign_out_uris.map((u) => urlRow("Sign-out URL", u)));
    renderProbe(result.probe);
    show("pf-result", true);
    await loadInfo();
    renderProfiles();
    if (ui.editing) ui.editingDraft = await invoke("profile_draft", { name: ui.editing });
    render(await invoke("session_state"));
  } catch (e) { formError(e); } finally { $("pf-save").disabled = false; }
}

async function testConnection() {
  clearError();
  resetProfileResults();
  let draft;
  try { draft = formDraft(); } catch (e) { formError(e); return; }
  $("pf-test").disabled = true;
  setText("pf-test", "Testing…");
  try {
    renderProbe(await invoke("test_connection", { name: $("pf-name").value.trim(), draft }));
  } catch (e) { formError(e); } finally {
    $("pf-test").disabled = false;
    setText("pf-test", "Test connection");
  }
}

function renderProbe(report) {
  const mark = { ok: "✓", warn: "!", fail: "✗", skip: "–" };
  $("pf-probe").replaceChildren(...report.steps.map((step) =>
    el("li", { class: step.status === "ok" ? "pass" : step.status === "fail" ? "fail" : "warn", "data-step": step.name, "data-status": step.status },
      el("span", { class: "mark", "aria-label": step.status, text: mark[step.status] || "?" }),
      el("span", { class: "name", text: step.name }),
      el("span", { class: "reason", text: step.message }))));
  show("pf-probe-box", true);
}

function urlRow(label, url) {
  return el("li", {}, el("span", { class: "muted", text: label }), el("code", { text: url }),
    el("button", { type: "button", class: "small", onclick: () => writeClipboard(url) }, "Copy"));
}

/* ---------- keyboard ---------- */
const VIEWS = ["session", "inspector", "aws", "console", "activity", "settings", "about"];
function onKey(event) {
  if (!$("modal").hidden) {
    if (event.key === "Escape") { event.preventDefault(); modalAnswer && modalAnswer(false); }
    return;
  }
  const ctrl = event.ctrlKey || event.metaKey;
  if (ctrl && !event.shiftKey && /^[1-7]$/.test(event.key)) {
    event.preventDefault();
    go(VIEWS[Number(event.key) - 1]);
  } else if (ctrl && event.key === "Enter" && ui.view === "console") {
    event.preventDefault();
    sendApi();
  } else if (event.key === "Escape" && ui.sending) {
    event.preventDefault();
    invoke("cancel_api_call").catch(showError);
  } else if (ctrl && event.key.toLowerCase() === "f" && ui.view === "console" && ui.response) {
    event.preventDefault();
    $("api-search").focus();
  } else if (ctrl && event.shiftKey && event.key.toLowerCase() === "r") {
    event.preventDefault();
    if (ui.session && ui.session.state === "signed_in") invoke("refresh_now").then(render).catch(showError);
  }
}

/* ---------- wiring ---------- */
function wire() {
  for (const button of document.querySelectorAll(".nav")) button.addEventListener("click", () => go(button.dataset.view));
  $("signin").addEventListener("click", () => signIn("sign_in"));
  $("signin-another").addEventListener("click", () => signIn("another_user"));
  $("signup").addEventListener("click", () => signIn("sign_up"));
  $("switch-user").addEventListener("click", switchUser);
  $("cancel-signin").addEventListener("click", () => invoke("cancel_sign_in").catch(showError));
  $("open-again").addEventListener("click", () => invoke("open_authorize_url_again").catch(showError));
  $("copy-url").addEventListener("click", () => writeClipboard($("authorize-url").value));
  $("signout").addEventListener("click", () => signOut(false));
  $("signout-everywhere").addEventListener("click", () => signOut(true));
  $("refresh-now").addEventListener("click", () => invoke("refresh_now").then(render).catch(showError));
  $("error-dismiss").addEventListener("click", clearError);
  $("profile-select").addEventListener("change", (e) => useProfile(e.target.value));
  $("modal-ok").addEventListener("click", () => modalAnswer && modalAnswer(true));
  $("modal-cancel").addEventListener("click", () => modalAnswer && modalAnswer(false));
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => { ui.inspectorToken = tab.dataset.token; loadInspector(); });
  }
  for (const radio of document.querySelectorAll('input[name="verify-with"]')) radio.addEventListener("change", syncVerifyWith);
  $("paste-inspect").addEventListener("click", inspectPasted);
  $("raw-reveal").addEventListener("click", toggleRaw);
  $("expect-form").addEventListener("submit", addExpectation);
  $("copy-token").addEventListener("click", copyToken);
  $("api-form").addEventListener("submit", sendApi);
  $("api-cancel").addEventListener("click", () => invoke("cancel_api_call").catch(showError));
  $("api-add-param").addEventListener("click", () => { $("api-params-box").open = true; pairRow($("api-params")).children[0].focus(); });
  $("api-add-header").addEventListener("click", () => { $("api-headers-box").open = true; pairRow($("api-headers")).children[0].focus(); });
  $("api-save").addEventListener("click", saveRequest);
  $("api-curl-copy").addEventListener("click", copyCurl);
  $("api-history-clear").addEventListener("click", async () => {
    if (await ask("Clear the history?", "Every request sent from this profile's console is forgotten. Saved requests stay.", "Clear")) {
      invoke("console_clear_history").then(renderConsole).catch(showError);
    }
  });
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
  $("aws-reload").addEventListener("click", loadAws);
  $("aws-reveal").addEventListener("click", toggleAwsSecret);
  $("aws-copy-env").addEventListener("click", copyAwsEnvironment);
  $("aws-copy-config").addEventListener("click", copyAwsConfig);
  $("activity-export").addEventListener("click", async () => {
    try { setText("activity-exported", `Saved to ${await invoke("export_activity")}`); } catch (e) { showError(e); }
  });
  $("activity-clear").addEventListener("click", () => invoke("clear_activity").then(loadActivity).catch(showError));
  for (const radio of document.querySelectorAll('input[name="kind"]')) radio.addEventListener("change", syncKind);
  $("profile-form").addEventListener("submit", saveProfile);
  $("pf-test").addEventListener("click", testConnection);
  $("pf-new").addEventListener("click", () => newProfile());
  $("pf-cancel-edit").addEventListener("click", () => newProfile());
  $("pf-import").addEventListener("click", importProfile);
  $("import-text-review").addEventListener("click", reviewPastedProfile);
  $("import-cancel").addEventListener("click", cancelImport);
  $("pf-strays").addEventListener("click", removeStraySessions);
  document.addEventListener("keydown", onKey);
}

async function start() {
  wire();
  await tauri.event.listen("session", (event) => render(event.payload));
  await tauri.event.listen("activity", (event) => {
    if (ui.view === "activity") $("activity").append(activityItem(event.payload));
  });
  await loadInfo();
  render(await invoke("session_state"));
  ui.tick = setInterval(tickCountdown, 1000);
  requestAnimationFrame(() => invoke("ui_ready").catch(() => {}));
}

start().catch(showError);
