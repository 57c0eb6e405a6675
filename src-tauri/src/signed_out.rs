//! Why nobody is signed in, as a sentence for people under the sign-in buttons; the engine's
//! reason is kept beside it as a kind (`no_saved_session`, `signed_out`, …) for tests.

use latchkey_core::{SessionEnd, StorageInfo};
use serde::Serialize;

/// The engine's fixed reasons (crates/core/src/session); any other reason is shown as it is.
const ENGINE_NO_SAVED_SESSION: &str = "no saved session; sign in";
const ENGINE_SIGNED_OUT: &str = "signed out";
const ENGINE_OTHER_CLIENT: &str =
    "the saved session belongs to another issuer or client; sign in again";

/// What the signed-out screen says, and which case it is.
#[derive(Clone, Serialize, Default)]
pub struct SignedOutView {
    /// `not_checked`, `no_saved_session`, `signed_out`, `session_ended`, `other_client`,
    /// `keychain` or `other`.
    pub kind: &'static str,
    /// One sentence: what happened and what to do.
    pub sentence: String,
}

/// The signed-out screen's sentence for the engine's `reason`, the session's last recorded
/// end and where its secrets are kept.
pub fn signed_out_view(
    profile: &str,
    reason: Option<&str>,
    last_end: Option<&SessionEnd>,
    storage: &StorageInfo,
) -> SignedOutView {
    let (kind, sentence) = match (reason, last_end, &storage.warning) {
        (None, _, _) => ("not_checked", "Looking for a saved session…".to_owned()),
        (Some(ENGINE_SIGNED_OUT), _, _) => (
            "signed_out",
            "You signed out. Sign in again when you need a token.".to_owned(),
        ),
        (Some(_), Some(end), _) => ("session_ended", ended_sentence(end)),
        (Some(_), None, Some(warning)) => ("keychain", keychain_sentence(warning)),
        (Some(ENGINE_NO_SAVED_SESSION), None, None) => (
            "no_saved_session",
            format!("Nobody is signed in with profile “{profile}” yet. Sign in with your browser to start."),
        ),
        (Some(ENGINE_OTHER_CLIENT), None, None) => (
            "other_client",
            "The saved session was made for another provider or app client than this profile now names, so it was set aside. Sign in again.".to_owned(),
        ),
        (Some(other), None, None) => ("other", other_sentence(other)),
    };
    SignedOutView { kind, sentence }
}

/// "Your session ended at 05:21 UTC: the provider refused to renew it (invalid_grant)…"
fn ended_sentence(end: &SessionEnd) -> String {
    let when = end.at.format("%Y-%m-%d %H:%M UTC");
    let what = match (&end.provider_error, end.check) {
        (Some(code), _) => format!("the provider refused to renew it ({code})"),
        (None, Some(check)) => {
            format!("the provider's answer to a renewal failed the `{check}` check")
        }
        (None, None) => "it could not be renewed".to_owned(),
    };
    format!("Your session ended at {when}: {what}. Sign in again to continue.")
}

fn keychain_sentence(warning: &str) -> String {
    format!(
        "Latchkey could not read the keychain ({}). You can sign in, but the session lasts only until Latchkey quits.",
        warning.trim_end_matches('.')
    )
}

/// An engine reason this module does not know, as a sentence (first letter capital, a stop).
fn other_sentence(reason: &str) -> String {
    let mut chars = reason.trim().chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    let rest = chars.as_str().trim_end_matches('.');
    format!("Not signed in: {first}{rest}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keychain() -> StorageInfo {
        StorageInfo {
            store_name: "Secret Service".into(),
            persistent: true,
            warning: None,
        }
    }

    #[test]
    fn the_engines_reasons_become_sentences_with_their_kind() {
        let none = signed_out_view("Demo", Some(ENGINE_NO_SAVED_SESSION), None, &keychain());
        assert_eq!(none.kind, "no_saved_session");
        assert!(!none.sentence.contains(ENGINE_NO_SAVED_SESSION));
        let out = signed_out_view("Demo", Some(ENGINE_SIGNED_OUT), None, &keychain());
        assert_eq!(out.kind, "signed_out");
        let other = signed_out_view("Demo", Some(ENGINE_OTHER_CLIENT), None, &keychain());
        assert_eq!(other.kind, "other_client");
        let unknown = signed_out_view("Demo", Some("something new"), None, &keychain());
        assert_eq!(unknown.kind, "other");
    }
}
