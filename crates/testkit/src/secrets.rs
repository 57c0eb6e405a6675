//! Masking for failure reports: the values of secret parameters (`code=…`, `state=…`, JSON
//! `"refresh_token": "…"`) keep 4 characters, so a failing test never prints a whole secret.

/// Query/form parameters whose values are secrets in URLs and page text.
const SECRET_PARAMS: &[&str] = &[
    "code",
    "state",
    "nonce",
    "code_challenge",
    "code_verifier",
    "token",
    "id_token",
    "access_token",
    "refresh_token",
    "id_token_hint",
    "password",
    "client_secret",
];

/// Masks the values of secret parameters (`code=…`, `state=…`, …) wherever they appear in
/// `text` (URLs, form bodies, log lines): keeps the first 4 characters, replaces the rest.
pub fn mask_secrets(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let at_boundary = i == 0
            || matches!(
                bytes[i - 1],
                b'?' | b'&' | b' ' | b'"' | b'\'' | b'\n' | b'(' | b'#'
            );
        let key = if at_boundary {
            SECRET_PARAMS
                .iter()
                .find(|k| text[i..].starts_with(*k) && text[i + k.len()..].starts_with('='))
        } else {
            None
        };
        if key.is_none() && bytes[i] == b'"' {
            if let Some(end) = json_secret_value(text, i) {
                out.push_str(&text[i..end.0]);
                out.extend(text[end.0..end.1].chars().take(4));
                out.push_str("…(masked)");
                i = end.1;
                continue;
            }
        }
        match key {
            Some(k) => {
                let start = i + k.len() + 1;
                let end = text[start..]
                    .find(|c: char| {
                        matches!(c, '&' | '#' | '"' | '\'' | '<' | ')') || c.is_whitespace()
                    })
                    .map(|n| start + n)
                    .unwrap_or(text.len());
                let value = &text[start..end];
                out.push_str(&text[i..start]);
                if !value.is_empty() {
                    out.extend(value.chars().take(4));
                    out.push_str("…(masked)");
                }
                i = end;
            }
            None => {
                let c = text[i..].chars().next().expect("in bounds");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// At `"key": "value"` with a secret key: the byte range of `value`.
fn json_secret_value(text: &str, at: usize) -> Option<(usize, usize)> {
    let rest = &text[at + 1..];
    let key = SECRET_PARAMS
        .iter()
        .find(|k| rest.starts_with(*k) && rest[k.len()..].starts_with('"'))?;
    let after_key = at + 1 + key.len() + 1;
    let colon = text[after_key..].trim_start();
    let colon = colon.strip_prefix(':')?.trim_start();
    let value = colon.strip_prefix('"')?;
    let start = text.len() - value.len();
    let end = start + value.find('"').unwrap_or(value.len());
    Some((start, end))
}
