//! What a profile may say about its protected APIs beyond their URLs: the header the token
//! travels in and how much of an answer is read. `api` applies them; `validate` checks them.

/// How much of an API's answer is read unless the profile says otherwise
/// (`api_response_limit_mib`).
pub const DEFAULT_RESPONSE_LIMIT_MIB: u32 = 32;
/// The values `api_response_limit_mib` may take.
pub const RESPONSE_LIMIT_RANGE_MIB: std::ops::RangeInclusive<u32> = 1..=1024;

/// Is `name` an HTTP header name (RFC 9110 `token`) the token may travel in?
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
