/* Profiles & settings (and the sidebar's profile picker): the profiles, using, editing,
 * exporting and removing one, the keychain's stray sessions, and the profile form. */

import * as bridge from "../bridge.js";
import { $, ask, breakable, clearError, el, setText, show, showError, toast } from "../dom.js";
import { messageOf } from "../format.js";
import { fillForm, formDraft, setBrowserChoices, syncBrowser, syncKind } from "./profiles/form.js";
import { mountImport } from "./profiles/import.js";

let info = null; // the latest app info from Rust
let editing = null; // the name of the profile the form edits, or null for a new one
let editingDraft = null; // that profile's draft as loaded (settings the form has no field for survive)
let browsersOffered = null; // the browsers found on this computer, asked for once (a promise)

export function mount() {
  $("profile-select").addEventListener("change", (e) => useProfile(e.target.value));
  for (const radio of document.querySelectorAll('input[name="kind"]')) radio.addEventListener("change", syncKind);
  $("pf-browser").addEventListener("change", syncBrowser);
  $("profile-form").addEventListener("submit", saveProfile);
  $("pf-test").addEventListener("click", testConnection);
  $("pf-new").addEventListener("click", () => newProfile());
  $("pf-cancel-edit").addEventListener("click", closeForm);
  $("pf-strays").addEventListener("click", removeStraySessions);
  $("keep-in-tray").addEventListener("change", (e) => keepInTray(e.target.checked));
  mountImport();
  bridge.onAppInfo(render);
}

/** Draws the sidebar's picker and the list of profiles. */
export function render(next) {
  info = next;
  $("profile-select").replaceChildren(...info.profiles.filter((p) => !p.invalid).map((p) =>
    el("option", { value: p.name, ...(p.name === info.active_profile ? { selected: "" } : {}) }, p.name)));
  $("profiles").replaceChildren(...info.profiles.map(profileItem));
  renderTray(info.tray);
}

/** The close-to-tray setting; where the desktop has no tray it is off and says why. */
function renderTray(tray) {
  const box = $("keep-in-tray");
  box.checked = tray.keep_in_tray;
  box.disabled = !tray.available;
  if (tray.why_not) setText("keep-in-tray-note", tray.why_not);
}

async function keepInTray(keep) {
  try {
    renderTray(await bridge.setKeepInTray(keep));
  } catch (err) {
    showError(err);
  }
}

function profileItem(p) {
  return el("li", { "data-profile": p.name },
    el("strong", { text: p.name }),
    el("span", { class: p.invalid ? "pill bad" : "pill", text: p.kind }),
    p.invalid ? el("span", { class: "reason", text: p.invalid }) : el("code", {}, ...breakable(p.issuer)),
    p.name === info.active_profile ? el("span", { class: "pill ok", text: "active" })
      : p.invalid ? "" : el("button", { class: "small", "data-action": "use", onclick: () => useProfile(p.name) }, "Use"),
    el("button", { class: "small", "data-action": "edit", onclick: () => editProfile(p.name) }, p.invalid ? "Fix" : "Edit"),
    p.invalid ? "" : el("button", { class: "small", "data-action": "export", onclick: () => exportProfile(p.name) }, "Export…"),
    p.removable ? el("button", { class: "small ghost", "data-action": "remove", onclick: () => removeProfile(p.name) }, "Remove") : "");
}

async function useProfile(name) {
  try {
    clearError();
    await bridge.useProfile(name);
    await bridge.appInfo();
    await bridge.sessionState();
  } catch (e) { showError(e); }
}

async function removeProfile(name) {
  const yes = await ask(`Remove profile “${name}”?`,
    "Latchkey signs this profile out (its refresh token is revoked and removed from the keychain) and deletes it from the profiles file.",
    "Remove");
  if (!yes) return;
  try {
    await bridge.removeProfile(name);
    await bridge.appInfo();
  } catch (e) { showError(e); }
}

async function exportProfile(name) {
  clearError();
  try {
    const path = await bridge.exportProfile(name);
    if (path) setText("profiles-status", `Exported “${name}” to ${path} (a profile holds no secret).`);
  } catch (e) { showError(e); }
}

/* Sessions in the keychain that no profile reaches: listed, then (when the user agrees)
 * revoked where possible and deleted. */
async function removeStraySessions() {
  clearError();
  try {
    const strays = await bridge.straySessions();
    if (!strays.length) { setText("profiles-status", "No stray sessions: every Latchkey item in the keychain belongs to a profile."); return; }
    const lines = strays.map((s) => `“${s.profile_name}” (${s.issuer}, client ${s.client_id}): ${s.session ? "a session" : "pieces of a session"}${s.aws_credentials ? " and AWS credentials" : ""}${s.invalid_profile ? " — kept while the invalid profile is in the file" : ""}`);
    const yes = await ask(`Remove ${strays.length} stray session${strays.length === 1 ? "" : "s"}?`,
      `${lines.join("; ")}. Their refresh tokens are revoked where the provider can be reached, and every item is deleted from the keychain.`,
      "Revoke and delete");
    if (!yes) return;
    setText("profiles-status", (await bridge.removeStraySessions()).join(" "));
  } catch (e) { showError(e); }
}

/* ---------- the form ---------- */

function resetResults() {
  show("pf-error", false);
  show("pf-result", false);
  show("pf-probe-box", false);
}

async function editProfile(name) {
  clearError();
  try {
    const draft = await bridge.profileDraft(name);
    await offerBrowsers();
    editing = name;
    editingDraft = draft;
    fillForm(name, draft);
    $("pf-name").readOnly = true;
    openForm("edit", `Editing profile “${name}”`);
    $("pf-client").focus();
  } catch (e) { showError(e); }
}

/* Once per run: the browsers and browser profiles found on this computer (none on failure),
 * added to the form's Browser choice; resolves when they are there. */
function offerBrowsers() {
  browsersOffered ??= bridge
    .discoverBrowsers()
    .catch(() => [])
    .then((found) => setBrowserChoices(found));
  return browsersOffered;
}

function newProfile() {
  // The form opens at once; the browsers found join its Browser choice when they come (a new
  // profile starts on the system browser, so nothing waits for them).
  offerBrowsers();
  editing = null;
  editingDraft = null;
  fillForm("", { kind: "cognito", ports: [53682, 53683, 53684] });
  $("pf-name").readOnly = false;
  openForm("new", "New profile");
  $("pf-name").focus();
}

/* The form is on screen only for "New profile" or "Edit", titled with which. */
function openForm(mode, title) {
  const form = $("profile-form");
  form.dataset.mode = mode;
  setText("pf-title", title);
  resetResults();
  show("profile-form", true);
  form.scrollIntoView({ block: "start" });
}

function closeForm() {
  editing = null;
  editingDraft = null;
  delete $("profile-form").dataset.mode;
  show("profile-form", false);
}

function formError(e) {
  setText("pf-error", messageOf(e));
  show("pf-error", true);
}

/* The form's draft, or null after showing why it cannot be read. */
function readForm() {
  try { return formDraft(editingDraft, info && info.config_path); } catch (e) { formError(e); return null; }
}

async function saveProfile(event) {
  event.preventDefault();
  clearError();
  resetResults();
  const draft = readForm();
  if (!draft) return;
  $("pf-save").disabled = true;
  try {
    const result = await bridge.saveProfile($("pf-name").value.trim(), draft, Boolean(editing));
    setText("pf-message", result.message);
    $("pf-urls").replaceChildren(
      ...result.redirect_uris.map((u) => urlRow("Callback URL", u)),
      ...result.sign_out_uris.map((u) => urlRow("Sign-out URL", u)));
    renderProbe(result.probe);
    show("pf-result", true);
    await bridge.appInfo();
    if (editing) editingDraft = await bridge.profileDraft(editing);
    await bridge.sessionState();
  } catch (e) { formError(e); } finally { $("pf-save").disabled = false; }
}

async function testConnection() {
  clearError();
  resetResults();
  const draft = readForm();
  if (!draft) return;
  $("pf-test").disabled = true;
  setText("pf-test", "Testing…");
  try {
    renderProbe(await bridge.testConnection($("pf-name").value.trim(), draft));
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
  return el("li", {}, el("span", { class: "muted", text: label }), el("code", {}, ...breakable(url)),
    el("button", { type: "button", class: "small", onclick: () => copyText(url) }, "Copy"));
}

async function copyText(text) {
  try {
    await bridge.copyText(text);
    toast("Copied.");
  } catch (e) { showError(e); }
}
