/* Latchkey UI: start, navigation between the views, the keyboard, and the sidebar's keychain
 * status and banners. It renders what Rust says and never decides state. */

import * as bridge from "./bridge.js";
import { $, answer, ask, asking, mountSurfaces, setText, show, showError } from "./dom.js";
import * as about from "./views/about.js";
import * as activity from "./views/activity.js";
import * as aws from "./views/aws.js";
import * as apiConsole from "./views/console.js";
import * as inspector from "./views/inspector.js";
import * as profiles from "./views/profiles.js";
import * as session from "./views/session.js";

/* In the sidebar's order: Ctrl+1 … Ctrl+7. */
const VIEWS = [
  ["session", session], ["inspector", inspector], ["aws", aws], ["console", apiConsole],
  ["activity", activity], ["settings", profiles], ["about", about],
];

/* ---------- navigation ---------- */
function go(name) {
  for (const button of document.querySelectorAll(".nav")) {
    if (button.dataset.view === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".view")) {
    section.hidden = section.id !== `view-${name}`;
  }
  const [, view] = VIEWS.find(([n]) => n === name);
  if (view.shown) view.shown();
}

/* ---------- keyboard ---------- */
function onKey(event) {
  if (asking()) {
    if (event.key === "Escape") { event.preventDefault(); answer(false); }
    return;
  }
  const ctrl = event.ctrlKey || event.metaKey;
  if (ctrl && !event.shiftKey && /^[1-7]$/.test(event.key)) {
    event.preventDefault();
    go(VIEWS[Number(event.key) - 1][0]);
    return;
  }
  for (const [, view] of VIEWS) {
    if (view.onKey && view.onKey(event)) { event.preventDefault(); return; }
  }
}

/* ---------- the sidebar's keychain status and the banners ---------- */
function renderStatus(info) {
  const vault = $("vault-status");
  vault.textContent = info.vault.ok ? `Keychain: ${info.vault.store}` : `⚠ ${info.vault.message}`;
  vault.classList.toggle("warn", !info.vault.ok);
  setText("agent-status", info.agent);
  $("agent-status").dataset.holder = info.agent_holder;
  const problems = [];
  if (info.config_error) problems.push(info.config_error);
  for (const p of info.profiles.filter((p) => p.invalid)) {
    problems.push(`Profile “${p.name}” is set aside: ${p.invalid} Fix or remove it in Profiles & settings.`);
  }
  if (!info.vault.ok) problems.push(`${info.vault.message} The session is kept in memory only and ends when Latchkey quits.`);
  show("banner", problems.length > 0);
  setText("banner", problems.join(" "));
}

/* The tray's Quit: say what stops, quit only on "Quit". */
async function confirmQuit(text) {
  if (await ask("Quit Latchkey?", text, "Quit")) await bridge.quitApp();
}

async function start() {
  mountSurfaces();
  for (const button of document.querySelectorAll(".nav")) button.addEventListener("click", () => go(button.dataset.view));
  document.addEventListener("keydown", onKey);
  for (const [, view] of VIEWS) view.mount();
  bridge.onAppInfo(renderStatus);
  await bridge.onQuitAsked(confirmQuit);
  await bridge.listen();
  await bridge.appInfo();
  await bridge.sessionState();
  requestAnimationFrame(() => bridge.uiReady().catch(() => {}));
}

start().catch(showError);
