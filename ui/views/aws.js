/* The AWS credentials view: what the identity pool gave for the sign-in (identity, role, access
 * key id, lifetime), the secret only on request, and the ~/.aws/config section. */

import * as bridge from "../bridge.js";
import { $, ask, breakable, el, isShown, lifetimeBar, setBreakable, setText, show, showError, toast } from "../dom.js";
import { messageOf } from "../format.js";

let session = null; // the latest session state from Rust
let aws = null; // the credentials on screen
let loading = false;

export function mount() {
  $("aws-reload").addEventListener("click", shown);
  $("aws-reveal").addEventListener("click", toggleSecret);
  $("aws-copy-env").addEventListener("click", copyEnvironment);
  $("aws-copy-config").addEventListener("click", copyConfig);
  bridge.onSession(followSession);
  setInterval(() => { if (aws && isShown("aws")) drawTimeline(); }, 1000);
}

/* The view follows when the credentials it shows were replaced (or went with a sign-out). */
function followSession(next) {
  session = next;
  const shownExpiry = aws && Math.round(Date.parse(aws.expires_at) / 1000);
  if (isShown("aws") && aws && (session.aws_expires_at ?? null) !== shownExpiry) shown();
}

/** Loads the credentials (fetched by Rust if none are held); one load at a time. */
export async function shown() {
  if (loading) return;
  loading = true;
  try { await load(); } finally { loading = false; }
}

function empty(message) {
  aws = null;
  show("aws-details", false);
  setText("aws-empty", message);
  show("aws-empty", true);
}

async function load() {
  show("aws-warning", false);
  if (session && !session.identity_pool) {
    empty("This profile names no identity pool. Add its id under “AWS credentials” in Profiles & settings (or an [aws] table in the profiles file) to get AWS credentials from your sign-in.");
    return;
  }
  if (session && session.state !== "signed_in" && session.state !== "refreshing") {
    empty("Sign in first: the identity pool trades your ID token for AWS credentials.");
    return;
  }
  setText("aws-empty", "Getting AWS credentials from the identity pool…");
  show("aws-empty", !aws);
  try {
    render(await bridge.awsIdentity());
  } catch (e) {
    empty(typeof e === "string" ? e : e.message);
  }
}

/** Draws the identity and the credentials' facts (never the secret). */
export function render(identity) {
  aws = identity;
  setBreakable("aws-pool", aws.identity_pool_id);
  setText("aws-flow", `${aws.flow} (region ${aws.region})`);
  setBreakable("aws-identity-id", aws.identity_id);
  setBreakable("aws-role", aws.role_arn || "(unknown)");
  setText("aws-role-how", aws.requested_role ? "asked for (role_arn)" : "chosen by the identity pool");
  const others = (aws.roles || []).filter((r) => r !== aws.role_arn);
  $("aws-other-roles").replaceChildren(...(others.length
    ? others.map((r) => el("code", { class: "role" }, ...breakable(r)))
    : [document.createTextNode("(none in the ID token)")]));
  setBreakable("aws-caller", aws.assumed_role_arn || "—");
  setText("aws-access-key", aws.access_key_id);
  maskSecret();
  setText("aws-copied", "");
  show("aws-warning", Boolean(aws.warning));
  setText("aws-warning", aws.warning || "");
  show("aws-empty", false);
  show("aws-details", true);
  drawTimeline();
  bridge.awsConfigSnippet().then((text) => setText("aws-snippet", text)).catch((e) => setText("aws-snippet", messageOf(e)));
}

function drawTimeline() {
  const secs = (iso) => Date.parse(iso) / 1000;
  $("aws-timeline").replaceChildren(lifetimeBar("AWS credentials", secs(aws.issued_at), secs(aws.expires_at),
    secs(aws.expires_at) - secs(aws.refresh_due_at)));
}

function maskSecret() {
  const secret = $("aws-secret");
  secret.textContent = "••••••••••••••••••••";
  secret.dataset.masked = "true";
  $("aws-reveal").textContent = "Reveal…";
}

async function toggleSecret() {
  if ($("aws-secret").dataset.masked !== "true") { maskSecret(); return; }
  const ok = await ask("Show the secret access key?",
    "With the access key id and session token it acts as this role until it expires.", "Show it");
  if (!ok) return;
  try {
    $("aws-secret").textContent = await bridge.revealAws();
    $("aws-secret").dataset.masked = "false";
    $("aws-reveal").textContent = "Hide";
  } catch (e) { showError(e); }
}

async function copyEnvironment() {
  const ok = await ask("Copy the AWS credentials as environment variables?",
    "Anyone who has them can act as this role until they expire. Paste them only where you trust.", "Copy them");
  if (!ok) return;
  try {
    const copied = await bridge.copyAwsEnvironment();
    const message = `Copied export lines. The clipboard is cleared in ${copied.clears_in_secs} s.`;
    setText("aws-copied", message);
    toast(message);
  } catch (e) { showError(e); }
}

async function copyConfig() {
  try {
    const text = await bridge.awsConfigSnippet();
    setText("aws-snippet", text);
    try {
      await bridge.copyText(text);
      toast("Copied.");
    } catch (e) { showError(e); }
    setText("aws-copied", "Copied the ~/.aws/config section (it holds no secret).");
  } catch (e) { showError(e); }
}
