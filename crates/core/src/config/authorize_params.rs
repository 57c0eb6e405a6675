//! The authorize parameters a profile's `authorize_params` (or a caller's extras) may not set:
//! Latchkey sets them itself, or they would hand the flow to someone else.

/// The parameters Latchkey sets itself, or that would hand the flow to someone else; a
/// profile's or a caller's extra parameters may not set them. The first ten carry the flow's
/// security. `request`/`request_uri` (JAR, RFC 9101; PAR, RFC 9126) make a provider that
/// honours them take `redirect_uri`, `state`, `nonce` and `code_challenge` from a request
/// object instead of from Latchkey; `response_mode` (`fragment`, `form_post`) sends the code
/// where the loopback listener cannot take it; `claims` and `registration` change what is
/// asked for and who the client is (catalogue row G4).
pub const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "identity_provider",
    "response_mode",
    "request",
    "request_uri",
    "claims",
    "registration",
];

/// Whether `name` is one of [`RESERVED_PARAMS`], in any letter case (a provider that reads
/// parameter names case-insensitively must not receive a second `State`).
pub fn is_reserved_param(name: &str) -> bool {
    RESERVED_PARAMS.iter().any(|r| r.eq_ignore_ascii_case(name))
}
