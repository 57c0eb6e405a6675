//! Passkeys (WebAuthn), which devidp does not emulate: the sign-in page says so where managed
//! login shows its passkey button, and managed login's passkey paths answer a page saying so.

use super::lang::Lang;
use super::layout::{escape, message_page};
use crate::http::{Incoming, Reply};
use crate::provider::Provider;

/// The line under the sign-in button (where managed login offers "Sign in with passkey").
pub(super) fn login_page_note(lang: Lang) -> String {
    format!(
        "<p id=\"passkeys\" class=\"sub\" data-passkeys=\"not-emulated\">{}</p>",
        escape(lang.texts().passkeys_not_emulated)
    )
}

/// Whether `path` is a passkey (WebAuthn) path: managed login's `/passkeys/add` and anything
/// under `/passkeys/` or `/webauthn`.
pub(crate) fn is_passkey_path(path: &str) -> bool {
    path == "/passkeys" || path.starts_with("/passkeys/") || path.starts_with("/webauthn")
}

/// Any passkey path: 501 and a page that says passkeys are not emulated, what to do instead.
pub(crate) fn passkeys_page(p: &Provider, req: &Incoming) -> Reply {
    p.log(format!(
        "hosted UI: {} {} refused: passkeys are not emulated",
        req.method, req.path
    ));
    Reply::html(
        501,
        message_page(
            "Passkeys are not emulated",
            "This development provider does not emulate passkeys (WebAuthn): neither signing in \
             with one nor adding one. Sign in with a username and password (and a one-time code \
             if the user has MFA); test passkeys against a real Cognito user pool.",
        ),
    )
}
