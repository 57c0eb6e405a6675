/* The only door to Rust: one named function per command of src-tauri/src/commands/ (the same
 * names as build.rs's COMMANDS and capabilities/default.json), and the facts Rust sends back.
 *
 * A fact arrives either as an event from Rust or as a command's answer; either way it reaches
 * every view that subscribed (onSession, onAppInfo, onActivity), so views never tell each other. */

const tauri = window.__TAURI__;
const invoke = (command, args) => tauri.core.invoke(command, args);

const subscribers = { session: [], appInfo: [], activity: [] };

function deliver(kind) {
  return (fact) => {
    for (const handler of subscribers[kind]) handler(fact);
    return fact;
  };
}

/* ---------- facts from Rust ---------- */

/** `handler(sessionView)` on every session state: the `session` event and every answer that is one. */
export function onSession(handler) { subscribers.session.push(handler); }
/** `handler(appInfo)` whenever the profiles, the keychain's health or the banners were read again. */
export function onAppInfo(handler) { subscribers.appInfo.push(handler); }
/** `handler(entry)` for each new line of the activity log (the `activity` event). */
export function onActivity(handler) { subscribers.activity.push(handler); }

/** Starts listening to Rust's events; resolves once both listeners are in place. */
export async function listen() {
  await tauri.event.listen("session", (event) => deliver("session")(event.payload));
  await tauri.event.listen("activity", (event) => deliver("activity")(event.payload));
}

/* ---------- the app ---------- */

/** Profiles, keychain health, banners and the About box's facts (delivered to onAppInfo). */
export function appInfo() { return invoke("app_info").then(deliver("appInfo")); }
/** The first-paint marker (benchmarks measure start-up to it). */
export function uiReady() { return invoke("ui_ready"); }
/** Saves "keep running in the tray when the window closes"; answers the setting as it stands. */
export function setKeepInTray(keep) { return invoke("set_keep_in_tray", { keep }); }
/** Stops the app's session agent and quits (after the user said so). */
export function quitApp() { return invoke("quit_app"); }
/** `handler(text)` when the tray's Quit asks the user first (the `confirm_quit` event). */
export function onQuitAsked(handler) { return tauri.event.listen("confirm_quit", (event) => handler(event.payload)); }
/** Puts text that is not a secret (a URL, a curl command) on the clipboard. */
export function copyText(text) { return invoke("copy_text", { text }); }

/* ---------- session ---------- */

/** The session as it is now (delivered to onSession). */
export function sessionState() { return invoke("session_state").then(deliver("session")); }
/** Starts a sign-in in the system browser; `entry` is `sign_in`, `another_user` or `sign_up`. */
export function signIn(entry) { return invoke("sign_in", { entry }).then(deliver("session")); }
/** Signs out here, then signs in as someone else. */
export function switchUser() { return invoke("switch_user").then(deliver("session")); }
/** Gives up the sign-in waiting for the browser. */
export function cancelSignIn() { return invoke("cancel_sign_in"); }
/** Opens the waiting sign-in's page in the browser again. */
export function openAuthorizeUrlAgain() { return invoke("open_authorize_url_again"); }
/** Refreshes the tokens now (delivered to onSession). */
export function refreshNow() { return invoke("refresh_now").then(deliver("session")); }
/** Signs out (`everywhere`: every session of the user at the provider); answers the outcome. */
export function signOut(everywhere) { return invoke("sign_out", { everywhere }); }

/* ---------- token inspector ---------- */

/** The current `id` or `access` token, verified and explained. */
export function inspectToken(which) { return invoke("inspect_token", { which }); }
/** A pasted token, verified against the active profile's provider. */
export function inspectPasted(token) { return invoke("inspect_pasted", { token }); }
/** A pasted token, verified against keys the user gave (`{jwks_url}`, `{jwks}` or `{pem}`). */
export function inspectWithKeys(token, keys) { return invoke("inspect_with_keys", { token, keys }); }
/** Replaces the active profile's expectations; answers them as saved. */
export function saveExpectations(expect) { return invoke("save_expectations", { expect }); }
/** What the provider's userinfo endpoint says. */
export function userinfo() { return invoke("userinfo"); }
/** The refresh token's kind, length, age and store (never its value), or null. */
export function refreshTokenInfo() { return invoke("refresh_token_info"); }
/** The raw `id` or `access` token, on the user's explicit request. */
export function revealToken(which) { return invoke("reveal_token", { which }); }
/** Puts the `id` or `access` token on the clipboard from Rust; answers when it is cleared. */
export function copyToken(which) { return invoke("copy_token", { which }); }

/* ---------- API console ---------- */

/** Sends one console request; `allowAnyOrigin` is the user's answer for an unlisted origin. */
export function callApi(request, allowAnyOrigin) { return invoke("call_api", { request, allowAnyOrigin }); }
/** Cancels the console's request in flight. */
export function cancelApiCall() { return invoke("cancel_api_call"); }
/** The active profile's saved requests and history. */
export function consoleLoad() { return invoke("console_load"); }
/** Saves `request` (without any token) under `name`. */
export function consoleSave(name, request) { return invoke("console_save", { name, request }); }
/** Deletes the saved request `name`. */
export function consoleDelete(name) { return invoke("console_delete", { name }); }
/** Forgets the console's history. */
export function consoleClearHistory() { return invoke("console_clear_history"); }
/** The request as a curl command that fetches its token when it runs. */
export function curlCommand(request) { return invoke("curl_command", { request }); }

/* ---------- AWS credentials ---------- */

/** Identity, role, access key id and times of the AWS credentials (no secret). */
export function awsIdentity() { return invoke("aws_identity"); }
/** The secret access key, on the user's explicit request. */
export function revealAws() { return invoke("reveal_aws"); }
/** Puts `export AWS_…` lines on the clipboard from Rust; answers when they are cleared. */
export function copyAwsEnvironment() { return invoke("copy_aws_environment"); }
/** The `~/.aws/config` section that runs the latchkey CLI. */
export function awsConfigSnippet() { return invoke("aws_config_snippet"); }

/* ---------- activity log ---------- */

/** Every line of the activity log. */
export function activityLog() { return invoke("activity_log"); }
/** Empties the activity log. */
export function clearActivity() { return invoke("clear_activity"); }
/** Writes the activity log to a file; answers its path. */
export function exportActivity() { return invoke("export_activity"); }

/* ---------- profiles ---------- */

/** Makes profile `name` the active one. */
export function useProfile(name) { return invoke("use_profile", { name }); }
/** Signs profile `name` out and deletes it. */
export function removeProfile(name) { return invoke("remove_profile", { name }); }
/** Checks and saves a profile (`editing`: over the existing one of that name). */
export function saveProfile(name, draft, editing) { return invoke("save_profile", { name, draft, editing }); }
/** Every setting of profile `name`, for the edit form. */
export function profileDraft(name) { return invoke("profile_draft", { name }); }
/** Checks the form's settings and asks the provider live; saves nothing. */
export function testConnection(name, draft) { return invoke("test_connection", { name, draft }); }
/** Writes profile `name` to a file the user picks; answers its path, or null. */
export function exportProfile(name) { return invoke("export_profile", { name }); }
/** The profiles of a file the user picks, reviewed before anything is saved. */
export function reviewImportFile() { return invoke("review_import_file"); }
/** The profiles of pasted text, reviewed before anything is saved. */
export function reviewImportText(text) { return invoke("review_import_text", { text }); }
/** Saves the reviewed profile `name` (`replace`: the user's answer for an existing name). */
export function confirmImport(name, replace) { return invoke("confirm_import", { name, replace }); }
/** The keychain's sessions that no profile reaches. */
export function straySessions() { return invoke("stray_sessions"); }
/** The browsers and browser profiles found on this computer: `{browser, profile, label, argv}`. */
export function discoverBrowsers() { return invoke("discover_browsers"); }
/** Revokes and deletes the stray sessions; one sentence each. */
export function removeStraySessions() { return invoke("remove_stray_sessions"); }
