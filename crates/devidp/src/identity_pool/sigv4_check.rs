//! The receiving side of AWS Signature Version 4: parse `Authorization`, rebuild the canonical
//! request and the string to sign, derive the signing key and compare signatures. Written
//! here from the specification, independently of the signer Latchkey uses (`aws-sigv4`).
//!
//! Spec: <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>
//! (canonical request, string to sign, `AWS4` + secret → date → region → service →
//! `aws4_request` key derivation; non-S3 paths are normalised and each segment URI-encoded
//! twice; query parameters sorted and encoded; header values trimmed, inner spaces collapsed).

use sha2::{Digest, Sha256};

use crate::http::Incoming;
use crate::provider::{hex, jwt::hmac_sha256};

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SigV4Authorization {
    pub(crate) access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
}

/// Reads the `Authorization` header; `None` when it is not a SigV4 header at all.
pub(crate) fn parse_authorization(header: &str) -> Option<SigV4Authorization> {
    let rest = header.trim().strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        match key {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => return None,
        }
    }
    let scope: Vec<&str> = credential?.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return None;
    };
    let signed_headers: Vec<String> = signed_headers?
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    Some(SigV4Authorization {
        access_key_id: access_key_id.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers,
        signature: signature?.to_ascii_lowercase(),
    })
}

/// The signature the request should carry if it was signed with `secret` at `amz_date`.
pub(crate) fn expected_signature(
    req: &Incoming,
    auth: &SigV4Authorization,
    amz_date: &str,
    secret: &str,
) -> String {
    let canonical = canonical_request(req, &auth.signed_headers);
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    let k_region = hmac_sha256(&k_date, auth.region.as_bytes());
    let k_service = hmac_sha256(&k_region, auth.service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"aws4_request");
    hex(&hmac_sha256(&k_signing, string_to_sign.as_bytes()))
}

/// Compares two signatures without an early exit.
pub(crate) fn signatures_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn canonical_request(req: &Incoming, signed_headers: &[String]) -> String {
    let headers: String = signed_headers
        .iter()
        .map(|name| {
            let values: Vec<String> = req
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| collapse_spaces(v))
                .collect();
            format!("{name}:{}\n", values.join(","))
        })
        .collect();
    let payload_hash = req
        .header("x-amz-content-sha256")
        .map(str::to_owned)
        .unwrap_or_else(|| hex(&Sha256::digest(&req.body)));
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(&req.path),
        canonical_query(&req.raw_query),
        headers,
        signed_headers.join(";"),
        payload_hash
    )
}

/// Normalise `.`/`..` and empty segments, then URI-encode each (already encoded) segment again.
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out: String = segments
        .iter()
        .map(|s| format!("/{}", uri_encode(s)))
        .collect();
    if out.is_empty() || (path.ends_with('/') && !out.ends_with('/')) {
        out.push('/');
    }
    out
}

/// Parameters decoded, each name and value encoded the SigV4 way, sorted, joined with `&`.
fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986 unreserved characters stay; every other byte becomes `%XX` (upper case).
fn uri_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Why a signed request is refused, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignatureProblem {
    /// No `Authorization` header, or not a SigV4 one.
    Missing,
    /// The access key id is unknown, or `X-Amz-Security-Token` is not its session token.
    UnknownCredentials,
    /// The credentials have expired.
    Expired,
    /// `X-Amz-Date` is missing or unreadable.
    NoDate,
    /// `X-Amz-Date` is more than 5 minutes away from the provider's clock.
    Skewed { amz_date: String, now: i64 },
    /// The credential scope names another region or service.
    WrongScope { expected: String, found: String },
    /// The signature does not match.
    Mismatch,
}

/// Largest allowed distance between `X-Amz-Date` and the server's clock (AWS: 5 minutes).
const MAX_SKEW_SECS: i64 = 300;

/// Checks a SigV4-signed request against the credentials the identity pool issued: known key,
/// matching session token, not expired, fresh date, scope `region`/`service`, signature.
pub(crate) fn check_signed_request(
    p: &crate::provider::Provider,
    pool: &super::state::IdentityPoolState,
    req: &Incoming,
    service: &str,
) -> Result<super::state::IssuedCredentials, SignatureProblem> {
    let auth = req
        .header("authorization")
        .and_then(parse_authorization)
        .ok_or(SignatureProblem::Missing)?;
    let issued = pool
        .issued(&auth.access_key_id)
        .ok_or(SignatureProblem::UnknownCredentials)?;
    let token_ok = req
        .header("x-amz-security-token")
        .is_some_and(|t| signatures_match(t, &issued.session_token));
    if !token_ok {
        return Err(SignatureProblem::UnknownCredentials);
    }
    let now = p.now();
    if issued.expires_at <= now {
        return Err(SignatureProblem::Expired);
    }
    let amz_date = req.header("x-amz-date").ok_or(SignatureProblem::NoDate)?;
    let signed_at = parse_amz_date(amz_date).ok_or(SignatureProblem::NoDate)?;
    if (signed_at - now).abs() > MAX_SKEW_SECS {
        return Err(SignatureProblem::Skewed {
            amz_date: amz_date.to_owned(),
            now,
        });
    }
    let region = pool.config.region();
    if auth.region != region || auth.service != service || !amz_date.starts_with(&auth.date) {
        return Err(SignatureProblem::WrongScope {
            expected: format!("{region}/{service}"),
            found: format!("{}/{}", auth.region, auth.service),
        });
    }
    let expected = expected_signature(req, &auth, amz_date, &issued.secret_access_key);
    if !signatures_match(&expected, &auth.signature) {
        return Err(SignatureProblem::Mismatch);
    }
    Ok(issued)
}

/// `YYYYMMDDTHHMMSSZ` → Unix seconds.
pub(crate) fn parse_amz_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> { text.get(range)?.parse().ok() };
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// `YYYYMMDDTHHMMSSZ` for Unix seconds (for messages).
pub(crate) fn format_amz_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `get-vanilla-query-order-key-case` case of AWS's SigV4 test suite (credentials
    /// AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, service `service`, us-east-1).
    #[test]
    fn matches_the_aws_test_suite_vector() {
        let req = Incoming::new(
            "GET",
            "/?Param2=value2&Param1=value1",
            vec![
                ("Host".into(), "example.amazonaws.com".into()),
                ("X-Amz-Date".into(), "20150830T123600Z".into()),
            ],
            Vec::new(),
        );
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500";
        let auth = parse_authorization(header).unwrap();
        assert_eq!(auth.service, "service");
        let expected = expected_signature(
            &req,
            &auth,
            "20150830T123600Z",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        );
        assert!(signatures_match(&expected, &auth.signature), "{expected}");
    }

    #[test]
    fn paths_are_normalised_and_encoded_twice() {
        assert_eq!(canonical_uri("/demo-aws-api/me"), "/demo-aws-api/me");
        assert_eq!(canonical_uri("/a/./b/../c//d"), "/a/c/d");
        assert_eq!(canonical_uri("/a%20b/"), "/a%2520b/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_query("b=2&a=%2F+x&c"), "a=%2F%20x&b=2&c=");
    }

    #[test]
    fn amz_dates_round_trip() {
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(parse_amz_date("2015-08-30T12:36:00Z"), None);
    }

    #[test]
    fn rejects_other_authorization_schemes() {
        assert!(parse_authorization("Bearer eyJ").is_none());
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=a/b/c, Signature=x").is_none());
    }
}
