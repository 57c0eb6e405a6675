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
  history: [],
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

function showError(err) {
  const message = typeof err === "string" ? err : (err && err.message) || String(err);
  setText("error-text", message);
  show("error", true);
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
  if (view === "aws") loadAws();
  if (view === "activity") loadActivity();
  if (view === "settings") renderProfiles();
}

/* ---------- app info, profiles, vault ---------- */
async function loadInfo() {
  ui.info = await invoke("app_info");
  const info = ui.info;
  const select = $("profile-select");
  select.replaceChildren(...info.profiles.map((p) =>
    el("option", { value: p.name, ...(p.name === info.active_profile ? { selected: "" } : {}) }, p.name)));
  const vault = $("vault-status");
  vault.textContent = info.vault.ok ? `Keychain: ${info.vault.store}` : `⚠ ${info.vault.message}`;
  vault.classList.toggle("warn", !info.vault.ok);
  const problems = [];
  if (info.config_error) problems.push(info.config_error);
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
      : p.invalid ? "" : el("button", { class: "small", onclick: () => useProfile(p.name) }, "Use"),
    p.removable ? el("button", { class: "small ghost", onclick: () => removeProfile(p.name) }, "Remove") : "",
  )));
}

async function useProfile(name) {
  try {
    clearError();
    await invoke("use_profile", { name });
    await loadInfo();
    renderProfiles();
    render(await invoke("session_state"));
  } catch (e) { showError(e); }
}

async function removeProfile(name) {
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
  for (const id of ["signin", "signup"]) $(id).disabled = state === "signing_in";
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

async function signIn(signup) {
  clearError();
  try {
    render(await invoke("sign_in", { signup }));
    await loadInfo();
  } catch (e) {
    showError(e);
    render(await invoke("session_state"));
  }
}

async function signOut(everywhere) {
  clearError();
  try {
    const outcome = await invoke("sign_out", { everywhere });
    if (outcome.warnings && outcome.warnings.length) showError(outcome.warnings.join(" "));
    render(await invoke("session_state"));
  } catch (e) { showError(e); }
}

/* ---------- inspector ---------- */
async function loadInspector() {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.setAttribute("aria-selected", String(tab.dataset.token === ui.inspectorToken));
  }
  $("inspector-panel").setAttribute("aria-labelledby", `tab-${ui.inspectorToken}`);
  show("paste-box", ui.inspectorToken === "paste");
  show("refresh-view", false);
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
    renderInspection(await invoke("inspect_token", { which: ui.inspectorToken }));
  } catch (e) {
    emptyInspector(typeof e === "string" ? e : e.message);
  }
}

function emptyInspector(message) {
  setText("inspector-empty", message);
  show("inspector-empty", true);
}

function renderInspection(inspection) {
  ui.inspection = inspection;
  $("checks").replaceChildren(...inspection.checks.map((check) =>
    el("li", { class: check.passed ? "pass" : "fail", "data-check": check.name },
      el("span", { class: "mark", "aria-label": check.passed ? "passed" : "failed", text: check.passed ? "✓" : "✗" }),
      el("span", { class: "name", text: check.name }),
      el("span", { class: "reason", text: check.reason }))));
  $("claims").tBodies[0].replaceChildren(...inspection.claims.map((claim) =>
    el("tr", { "data-claim": claim.name },
      el("td", { class: "claim", text: claim.name }),
      el("td", { class: "value" }, el("span", { text: typeof claim.value === "string" ? claim.value : JSON.stringify(claim.value) }), claim.human ? el("span", { class: "human", text: claim.human }) : ""),
      el("td", { class: "meaning", text: claim.explanation || "" }))));
  setText("jwt-header", JSON.stringify(inspection.header, null, 2));
  setText("jwt-payload", JSON.stringify(Object.fromEntries(inspection.claims.map((c) => [c.name, c.value])), null, 2));
  show("copy-token", ui.inspectorToken !== "paste");
  show("jwt-view", true);
}

async function copyToken() {
  const ok = window.confirm("Copy this token to the clipboard?\n\nA token is a credential: anyone who has it can call your APIs as you until it expires. Paste it only where you trust.");
  if (!ok) return;
  try {
    const token = await invoke("reveal_token", { which: ui.inspectorToken });
    await writeClipboard(token);
    setText("copy-warning", "Copied. Clear your clipboard when you are done.");
  } catch (e) { showError(e); }
}

async function writeClipboard(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", { "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
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
  const ok = window.confirm("Show the secret access key?\n\nWith the access key id and session token it acts as this role until it expires.");
  if (!ok) return;
  try {
    $("aws-secret").textContent = await invoke("reveal_aws", { what: "secret_access_key" });
    $("aws-secret").dataset.masked = "false";
    $("aws-reveal").textContent = "Hide";
  } catch (e) { showError(e); }
}

async function copyAwsEnvironment() {
  const ok = window.confirm("Copy the AWS credentials as environment variables?\n\nAnyone who has them can act as this role until they expire. Paste them only where you trust.");
  if (!ok) return;
  try {
    await writeClipboard(await invoke("reveal_aws", { what: "environment" }));
    setText("aws-copied", "Copied export lines. Clear your clipboard when you are done.");
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
function parseHeaders(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const i = line.indexOf(":");
    if (i < 1) throw new Error(`Header line “${line}” needs the form Name: value`);
    return [line.slice(0, i).trim(), line.slice(i + 1).trim()];
  });
}

async function sendApi(event) {
  event.preventDefault();
  clearError();
  const request = {
    method: $("api-method").value,
    url: $("api-url").value.trim(),
    headers: [],
    body: $("api-body").value || null,
    token: $("api-token").value,
    scheme: $("api-scheme").value,
    aws_service: $("api-scheme").value === "sigv4" ? ($("api-service").value.trim() || null) : null,
    aws_region: $("api-scheme").value === "sigv4" ? ($("api-region").value.trim() || null) : null,
    allow_any_origin: false,
  };
  try {
    request.headers = parseHeaders($("api-headers").value);
  } catch (e) { showError(e); return; }
  $("api-send").disabled = true;
  try {
    let response;
    try {
      response = await invoke("call_api", { request });
    } catch (e) {
      if (e && e.kind === "origin_not_allowed" &&
          window.confirm(`${e.message}\n\nSend your ${request.scheme === "sigv4" ? "signed request" : "token"} to this origin for this one call?`)) {
        response = await invoke("call_api", { request: { ...request, allow_any_origin: true } });
      } else {
        throw e;
      }
    }
    renderResponse(request, response);
  } catch (e) {
    showError(e);
  } finally {
    $("api-send").disabled = false;
  }
}

function prettyBody(body) {
  try { return JSON.stringify(JSON.parse(body), null, 2); } catch { return body; }
}

function renderResponse(request, response) {
  const status = $("api-status");
  status.textContent = String(response.status);
  status.className = `pill ${response.status < 400 ? "ok" : "bad"}`;
  setText("api-time", `${response.elapsed_ms} ms`);
  show("api-why", Boolean(response.why));
  setText("api-why", response.why || "");
  setText("api-resp-headers", response.headers.map(([k, v]) => `${k}: ${v}`).join("\n"));
  setText("api-resp-body", prettyBody(response.body));
  show("api-response", true);
  ui.history.unshift({ method: request.method, url: request.url, status: response.status, ms: response.elapsed_ms });
  $("api-history").replaceChildren(...ui.history.slice(0, 50).map((h) => el("li", {},
    el("span", { class: `pill ${h.status < 400 ? "ok" : "bad"}`, text: String(h.status) }),
    el("code", { text: `${h.method} ${h.url}` }),
    el("span", { class: "muted", text: `${h.ms} ms` }))));
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
async function saveProfile(event) {
  event.preventDefault();
  clearError();
  const words = (id) => $(id).value.split(/[\s,]+/).filter(Boolean);
  const text = (id) => $(id).value.trim() || null;
  const list = (id) => (words(id).length ? words(id) : null);
  const kind = formKind();
  // A draft as the profiles file would say it; core validates it with the file's messages.
  const draft = {
    kind,
    client_id: text("pf-client"),
    ...(kind === "cognito"
      ? { region: text("pf-region") ?? "", user_pool_id: text("pf-pool") ?? "", domain: text("pf-domain") ?? "" }
      : { issuer: text("pf-issuer") ?? "" }),
    scopes: list("pf-scopes"),
    ports: list("pf-ports") && words("pf-ports").map(Number),
    api_base_urls: list("pf-api"),
  };
  if (kind === "oidc" && !draft.ports) draft.any_port = true;
  if (text("pf-identity-pool")) {
    draft.aws = { identity_pool_id: text("pf-identity-pool"), role_arn: text("pf-role"),
      identity_endpoint: text("pf-identity-endpoint"), flow: $("pf-flow").value };
    for (const key of Object.keys(draft.aws)) if (draft.aws[key] === null) delete draft.aws[key];
  }
  for (const key of Object.keys(draft)) if (draft[key] === null) delete draft[key];
  $("pf-save").disabled = true;
  try {
    const result = await invoke("save_profile", { name: $("pf-name").value.trim(), draft });
    setText("pf-message", result.message);
    $("pf-urls").replaceChildren(
      ...result.redirect_uris.map((u) => urlRow("Callback URL", u)),
      ...result.sign_out_uris.map((u) => urlRow("Sign-out URL", u)));
    show("pf-result", true);
    await loadInfo();
    renderProfiles();
  } catch (e) { showError(e); } finally { $("pf-save").disabled = false; }
}
function urlRow(label, url) {
  return el("li", {}, el("span", { class: "muted", text: label }), el("code", { text: url }),
    el("button", { class: "small", onclick: () => writeClipboard(url) }, "Copy"));
}

/* ---------- wiring ---------- */
function wire() {
  for (const button of document.querySelectorAll(".nav")) button.addEventListener("click", () => go(button.dataset.view));
  $("signin").addEventListener("click", () => signIn(false));
  $("signup").addEventListener("click", () => signIn(true));
  $("cancel-signin").addEventListener("click", () => invoke("cancel_sign_in").catch(showError));
  $("open-again").addEventListener("click", () => invoke("open_authorize_url_again").catch(showError));
  $("copy-url").addEventListener("click", () => writeClipboard($("authorize-url").value));
  $("signout").addEventListener("click", () => signOut(false));
  $("signout-everywhere").addEventListener("click", () => signOut(true));
  $("refresh-now").addEventListener("click", () => invoke("refresh_now").then(render).catch(showError));
  $("error-dismiss").addEventListener("click", clearError);
  $("profile-select").addEventListener("change", (e) => useProfile(e.target.value));
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => { ui.inspectorToken = tab.dataset.token; loadInspector(); });
  }
  $("paste-inspect").addEventListener("click", async () => {
    try { renderInspection(await invoke("inspect_pasted", { token: $("paste-input").value.trim() })); }
    catch (e) { emptyInspector(typeof e === "string" ? e : e.message); }
  });
  $("copy-token").addEventListener("click", copyToken);
  $("api-form").addEventListener("submit", sendApi);
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
