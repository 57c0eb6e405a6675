//! TOTP second factor (RFC 6238 with HMAC-SHA1, 6 digits, 30 s steps: what authenticator apps
//! and Cognito's `SOFTWARE_TOKEN_MFA` use): secrets, codes, the `otpauth://` URI and its QR code.

use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::config::{base32_decode, BASE32};

const STEP_SECS: i64 = 30;

/// A new random secret (20 bytes, as RFC 4226 recommends), base32 without padding.
pub(crate) fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    base32_encode(&bytes)
}

/// Whether `code` is the TOTP code of `secret` at `now`, one step either side allowed (clock
/// drift between phone and server, as RFC 6238 §5.2 suggests).
pub(crate) fn code_matches(secret: &str, code: &str, now: i64) -> bool {
    let Some(key) = base32_decode(secret) else {
        return false;
    };
    let code = code.trim();
    code.len() == 6 && (-1..=1).any(|drift| hotp(&key, (now / STEP_SECS + drift) as u64) == code)
}

/// The code an authenticator shows at `now` (for the development banner and tests' helpers).
#[cfg(test)]
fn code_at(secret: &str, now: i64) -> Option<String> {
    base32_decode(secret).map(|key| hotp(&key, (now / STEP_SECS) as u64))
}

/// RFC 4226 HOTP, 6 digits.
fn hotp(key: &[u8], counter: u64) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

/// The `otpauth://totp/…` URI authenticator apps scan.
pub(crate) fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let label: String =
        url::form_urlencoded::byte_serialize(format!("{issuer}:{account}").as_bytes()).collect();
    let issuer_q: String = url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect();
    format!("otpauth://totp/{label}?secret={secret}&issuer={issuer_q}")
}

/// The URI as an SVG QR code, to inline in the set-up page.
pub(crate) fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(180, 180)
            .build(),
    )
}

pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(BASE32[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (8 digits there; the last 6 are the 6-digit code).
    #[test]
    fn matches_rfc_6238_test_vectors() {
        let secret = base32_encode(b"12345678901234567890");
        for (time, eight_digits) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(code_at(&secret, time).unwrap(), eight_digits[2..]);
            assert!(code_matches(&secret, &eight_digits[2..], time + 30));
            assert!(!code_matches(&secret, &eight_digits[2..], time + 90));
        }
    }

    #[test]
    fn base32_round_trips_and_refuses_junk() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert!(base32_decode("not base32!").is_none());
        assert_eq!(new_secret().len(), 32);
    }
}
