//! Fuzz targets (bolero's random engine on stable Rust): the loopback listener's request-head
//! parser, the JWT decoder and inspector, the JWKS parser, and the ID-token verifier judging
//! *signed* tokens whose header and claims are mutated, so every claim reader runs on hostile
//! values, not only the signature check. None may panic; each asserts what it can.
//!
//! `cargo xtask test` runs a bounded number of inputs per target (a few seconds each);
//! `cargo xtask fuzz` runs a million per target in a release build
//! (`BOLERO_RANDOM_ITERATIONS=1000000`, which overrides the counts below).

use std::sync::OnceLock;

use bolero::check;
use latchkey_core::internals::{
    decode_jwt, head_end, parse_head, verify_id_token, JwkSet, Provider, MAX_HEAD_BYTES,
    MAX_TOKEN_BYTES,
};
use latchkey_core::{inspect_jwt, ErrorKind, Profile};
use latchkey_testkit::devidp::DevIdp;
use latchkey_testkit::{forging_idp, good_claims, http, Forger, Proxy};
use serde_json::{json, Value};

/// Inputs per target in `cargo xtask test`.
const PARSER_INPUTS: usize = 50_000;
const VERIFIER_INPUTS: usize = 5_000;

#[test]
fn loopback_request_head_parser() {
    check!()
        .with_iterations(PARSER_INPUTS)
        .with_max_len(MAX_HEAD_BYTES + 256)
        .for_each(|bytes: &[u8]| {
            judge_head(bytes);
            // The same bytes inside a well-formed frame, so the parser gets past the first line.
            let text = String::from_utf8_lossy(bytes);
            let (target, rest) = halves(&text);
            let framed =
                format!("GET /callback?{target} HTTP/1.1\r\nHost: {rest}\r\n{rest}\r\n\r\n");
            judge_head(framed.as_bytes());
        });
}

fn judge_head(bytes: &[u8]) {
    if let Some(end) = head_end(bytes) {
        assert!(end <= bytes.len() && bytes[..end].ends_with(b"\r\n\r\n"));
    }
    if let Ok(head) = parse_head(bytes) {
        assert!(bytes.len() <= MAX_HEAD_BYTES);
        assert!(head.target.starts_with('/'));
        assert!(!head
            .target
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' '));
        assert!(head.method.bytes().all(|b| b.is_ascii_uppercase()));
    }
}

#[test]
fn jwt_decoder_and_inspector() {
    check!()
        .with_iterations(PARSER_INPUTS)
        .with_max_len(4096)
        .for_each(|bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            judge_jwt(&text);
            // Three base64url parts of the input's bytes: JSON-ish pieces reach the claim readers.
            let third = bytes.len() / 3;
            let token = [
                &bytes[..third],
                &bytes[third..2 * third],
                &bytes[2 * third..],
            ]
            .map(b64)
            .join(".");
            judge_jwt(&token);
        });
}

fn judge_jwt(token: &str) {
    match decode_jwt(token) {
        Ok(_) => assert!(token.trim().len() <= MAX_TOKEN_BYTES),
        Err(_) => {
            let e = inspect_jwt(token, Some(1_700_000_000)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Verification);
        }
    }
    if let Ok(inspection) = inspect_jwt(token, None) {
        // Every check has a reason a person can read.
        assert!(inspection.checks.iter().all(|c| !c.reason.is_empty()));
    }
}

#[test]
fn jwks_parser() {
    check!()
        .with_iterations(PARSER_INPUTS)
        .with_max_len(4096)
        .for_each(|bytes: &[u8]| {
            let _ = JwkSet::parse(bytes);
            // Key-shaped documents with fuzzed members.
            let text = String::from_utf8_lossy(bytes);
            let (a, b) = halves(&text);
            for kty in ["RSA", "EC", "oct", "OKP"] {
                let doc = json!({"keys": [
                    {"kty": kty, "kid": a, "n": b, "e": a, "crv": b, "x": a, "y": b, "alg": b},
                    {"kty": kty, "kid": a, "n": b64(bytes), "e": "AQAB"},
                ]});
                let _ = JwkSet::parse(doc.to_string().as_bytes());
            }
        });
}

/// The claims and header members a mutation can replace, and the values it can put there.
const MEMBERS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "azp",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "nonce",
    "at_hash",
    "token_use",
    "cognito:groups",
    "alg",
    "kid",
    "typ",
    "crit",
    "jku",
    "x5u",
];

fn hostile_value(choice: u8, number: i64, text: &str) -> Value {
    match choice % 10 {
        0 => Value::Null,
        1 => json!(number),
        2 => json!(number as f64 * 1e300),
        3 => json!(text),
        4 => json!([text, number]),
        5 => json!({ text: number }),
        6 => json!(true),
        7 => json!(u64::MAX),
        8 => json!(i64::MIN),
        _ => json!("\u{1b}[2J\u{0}".repeat((number.unsigned_abs() % 64) as usize)),
    }
}

struct Rig {
    _idp: DevIdp,
    _proxy: Proxy,
    profile: Profile,
    provider: Provider,
    forger: Forger,
    runtime: tokio::runtime::Runtime,
}

/// One forging provider and its loaded keys for the whole target (the JWKS is fetched once).
fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let forger = Forger::new("fuzz");
        let (idp, proxy, profile) = forging_idp(&[forger.jwk()], true);
        let provider = runtime.block_on(async {
            let provider = Provider::load(&profile, http()).await.unwrap();
            // Warm the key cache: a good token verifies.
            let token = forger.sign(
                json!({"alg": "ES256", "kid": "fuzz"}),
                good_claims(&profile),
            );
            let now = chrono::Utc::now().timestamp();
            verify_id_token(&provider, &profile, &token, now)
                .await
                .expect("the unmutated token verifies");
            provider
        });
        Rig {
            _idp: idp,
            _proxy: proxy,
            profile,
            provider,
            forger,
            runtime,
        }
    })
}

#[test]
fn id_token_verifier_on_signed_tokens_with_hostile_claims() {
    // The verifier's caches are not unwind-safe; a panic ends the target anyway.
    let shared = std::panic::AssertUnwindSafe(rig());
    check!()
        .with_iterations(VERIFIER_INPUTS)
        .with_type::<(Vec<(u8, u8, i64)>, String)>()
        .for_each(|(mutations, text)| {
            let rig: &Rig = &shared;
            let mut header = json!({"alg": "ES256", "kid": rig.forger.kid});
            let mut claims = good_claims(&rig.profile);
            for (member, choice, number) in mutations.iter().take(6) {
                let name = MEMBERS[*member as usize % MEMBERS.len()];
                let value = hostile_value(*choice, *number, text);
                let target = match name {
                    "alg" | "kid" | "typ" | "crit" | "jku" | "x5u" => &mut header,
                    _ => &mut claims,
                };
                target[name] = value;
            }
            let token = rig.forger.sign(header.clone(), claims.clone());
            let now = chrono::Utc::now().timestamp();
            let verdict =
                rig.runtime
                    .block_on(verify_id_token(&rig.provider, &rig.profile, &token, now));
            if verdict.is_ok() {
                // Accepted only if every claim that matters is still what it must be.
                assert_eq!(claims["iss"], json!(rig.profile.issuer()), "{claims}");
                assert!(
                    claims["exp"].as_i64().is_some_and(|exp| exp > now),
                    "{claims}"
                );
                assert_eq!(header["alg"], json!("ES256"), "{header}");
            }
        });
}

/// `text` cut in two at a character boundary near its middle.
fn halves(text: &str) -> (&str, &str) {
    let mut middle = text.len() / 2;
    while !text.is_char_boundary(middle) {
        middle += 1;
    }
    text.split_at(middle)
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
