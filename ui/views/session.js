/* The Session view: signed out (sign-in buttons, the development provider's users), waiting
 * for the browser (URL, countdown), or signed in (who, where, token lifetimes). */

import * as bridge from "../bridge.js";
import { $, ask, clearError, isShown, lifetimeBar, setBreakable, setText, show, showError, toast } from "../dom.js";
import { clock, now } from "../format.js";

let session = null;

export function mount() {
  $("signin").addEventListener("click", () => signIn("sign_in"));
  $("signup").addEventListener("click", () => signIn("sign_up"));
  $("switch-user").addEventListener("click", switchUser);
  $("cancel-signin").addEventListener("click", () => bridge.cancelSignIn().catch(showError));
  $("open-again").addEventListener("click", () => bridge.openAuthorizeUrlAgain().catch(showError));
  $("copy-url").addEventListener("click", () => copyText($("authorize-url").value));
  $("signout").addEventListener("click", () => signOut(false));
  $("signout-everywhere").addEventListener("click", () => signOut(true));
  $("refresh-now").addEventListener("click", () => bridge.refreshNow().catch(showError));
  bridge.onSession(render);
  bridge.onAppInfo(renderProvider);
  setInterval(tick, 1000);
}

/** Ctrl+Shift+R refreshes the tokens, from any view. */
export function onKey(event) {
  const ctrl = event.ctrlKey || event.metaKey;
  if (!(ctrl && event.shiftKey && event.key.toLowerCase() === "r")) return false;
  if (session && session.state === "signed_in") bridge.refreshNow().catch(showError);
  return true;
}

export function render(next) {
  session = next;
  const state = session.state;
  show("signed-out", state === "signed_out" || state === "error");
  show("waiting", state === "signing_in");
  show("signed-in", state === "signed_in" || state === "refreshing");
  renderSignedOut(session.signed_out);
  if (state === "error" && session.error) showError(session.error);
  if (state === "signing_in") {
    $("authorize-url").value = session.authorize_url || "";
    setText("redirect-uri", session.redirect_uri);
    showOpensNothing(session);
  }
  if (session.user) renderUser(session.user);
  setText("session-profile", session.profile);
  setBreakable("session-issuer", session.issuer);
  setBreakable("session-client", session.client_id);
  setText("session-store", session.store);
  for (const id of ["signin", "signup"]) $(id).disabled = state === "signing_in";
  drawTimelines();
  tick();
}

/* Why nobody is signed in, for people; the case's kind stays on the element for tests. */
function renderSignedOut(why) {
  const line = $("signout-reason");
  line.textContent = why ? why.sentence : "";
  line.dataset.kind = why ? why.kind : "";
}

function renderUser(user) {
  setText("user-name", user.name);
  setBreakable("user-username", user.username);
  setText("user-email", user.email);
  setText("user-groups", (user.groups || []).join(", ") || "(none)");
  setBreakable("user-sub", user.sub);
}

/* Who the sign-in page belongs to, and the development provider's users when it is that one. */
function renderProvider(info) {
  show("demo-banner", Boolean(info.demo));
  if (info.demo) {
    setText("demo-username", info.demo.username);
    setText("demo-password", info.demo.password);
    setText("viewer-username", info.demo.viewer_username);
    setText("viewer-password", info.demo.viewer_password);
  }
  setText("provider-name", info.provider_label);
}

function drawTimelines() {
  const box = $("timelines");
  if (!session || !session.tokens) { box.replaceChildren(); return; }
  box.replaceChildren(...session.tokens.map((token) =>
    lifetimeBar(token.name, token.issued_at, token.expires_at, session.refresh_margin_secs || 0)));
}

/* Every second: the sign-in's countdown, and the lifetimes while they are on screen. */
function tick() {
  const s = session;
  if (s && s.state === "signing_in" && s.expires_at) {
    const left = s.expires_at - now();
    const total = Math.max(1, s.expires_at - (s.started_at || s.expires_at - 300));
    setText("countdown", clock(left));
    $("countdown-bar").value = Math.max(0, (left / total) * 100);
  }
  if (s && (s.state === "signed_in" || s.state === "refreshing") && isShown("session")) drawTimelines();
}

async function signIn(entry) {
  clearError();
  try {
    await bridge.signIn(entry);
    await bridge.appInfo();
  } catch (e) {
    showError(e);
    await bridge.sessionState();
  }
}

async function signOut(everywhere) {
  clearError();
  if (everywhere && !await ask("Sign out everywhere?",
    "Every session of this user at the provider ends: this app, the latchkey CLI and other devices. Then the provider's logout page opens in your browser to end the browser session too.",
    "Sign out everywhere")) return;
  try {
    const outcome = await bridge.signOut(everywhere);
    if (outcome.warnings && outcome.warnings.length) showError(outcome.warnings.join(" "));
    if (outcome.signed_out_everywhere) {
      toast("Signed out on every device. The provider's logout page opened to end the browser session.");
    }
    await bridge.sessionState();
  } catch (e) { showError(e); }
}

async function switchUser() {
  clearError();
  try {
    await bridge.switchUser();
    await bridge.appInfo();
  } catch (e) {
    showError(e);
    await bridge.sessionState();
  }
}

let copiedUrl = null; // the sign-in address already copied for a profile that opens nothing

/* A profile whose browser is "none": nothing opened, so the address goes to the clipboard
 * (once per sign-in) and the page says to open it. */
function showOpensNothing(view) {
  $("open-again").hidden = view.opens_nothing;
  setText("waiting-lead", view.opens_nothing
    ? "This profile opens no browser: the sign-in address below is on the clipboard. Open it in the browser you want; this window comes back by itself."
    : "Your browser should show the sign-in page. Once you are done there, this window comes back by itself.");
  if (view.opens_nothing && view.authorize_url && copiedUrl !== view.authorize_url) {
    copiedUrl = view.authorize_url;
    copyText(view.authorize_url);
  }
}

async function copyText(text) {
  try {
    await bridge.copyText(text);
    toast("Copied.");
  } catch (e) { showError(e); }
}
