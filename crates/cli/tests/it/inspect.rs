#![cfg(unix)]
//! `latchkey inspect` as a gate in scripts (`latchkey inspect "$T" && deploy`): a token that
//! fails any verification check, or whose signature could not be checked, exits 11.

use crate::common;

use std::sync::Arc;

use common::*;
use latchkey_testkit::{forging_idp, good_claims, proxied_idp, Forger};

/// `{"alg":"none","typ":"JWT"}`, base64url: the header of an unsigned token.
const UNSIGNED_HEADER: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";

/// `claims` signed by a key of the test's own.
fn forged(forger: &Forger, claims: serde_json::Value) -> String {
    forger.sign(
        serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": forger.kid}),
        claims,
    )
}

/// The same claims with `alg: none` and no signature (the classic forgery).
fn unsigned(claims: serde_json::Value) -> String {
    let signed = forged(&Forger::new("any"), claims);
    let payload = signed.split('.').nth(1).unwrap();
    format!("{UNSIGNED_HEADER}.{payload}.")
}

/// The `--json` failure on stderr: exit 11, kind `verification`, the first failed check.
fn assert_failed_check(r: &Run, check: &str) {
    assert_eq!(r.code, 11, "exit code; stderr: {}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["error"]["kind"], "verification", "{v}");
    assert_eq!(v["error"]["check"], check, "{v}");
    assert_eq!(v["error"]["exit_code"], 11, "{v}");
}

/// The named check of an inspection printed with `--json`.
fn check_of(inspection: &serde_json::Value, name: &str) -> Option<serde_json::Value> {
    inspection["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
}

#[test]
fn an_unsigned_token_exits_11_with_or_without_a_profile() {
    let env = Env::new();
    let (_idp, profile) = start_cognito("dev");
    let token = unsigned(good_claims(&profile));
    // No profile file: decoded offline, and still refused.
    let offline = env.run(&["inspect", &token]);
    assert_eq!(offline.code, 11, "{}", offline.stderr);
    env.write_profile(&profile);
    let human = env.run(&["inspect", &token]);
    assert_eq!(human.code, 11, "{}", human.stderr);
    let r = env.run(&["inspect", "--json", &token]);
    assert_failed_check(&r, "alg");
    assert_eq!(r.json()["valid"], false);
}

#[test]
fn a_token_without_iss_exits_11_on_its_issuer_check() {
    let env = Env::new();
    let forger = Forger::new("ec-1");
    let (_idp, _proxy, profile) = forging_idp(&[forger.jwk()], true);
    env.write_profile(&profile);
    let mut claims = good_claims(&profile);
    claims.as_object_mut().unwrap().remove("iss");
    let r = env.run(&["inspect", "--json", &forged(&forger, claims)]);
    assert_failed_check(&r, "iss");
    // The provider answered: the signature was checked (and holds), only `iss` failed.
    let inspection = r.json();
    assert_eq!(check_of(&inspection, "signature").unwrap()["passed"], true);
    assert_eq!(check_of(&inspection, "iss").unwrap()["passed"], false);
}

#[test]
fn a_token_whose_keys_cannot_be_fetched_exits_11() {
    let env = Env::new();
    // The provider's JWKS answers 503 (the proxy stands in for an outage of that one URL).
    let (_idp, _proxy, profile) = proxied_idp(Arc::new(|path: &str, status, body| {
        match path.ends_with("jwks.json") {
            true => (503, b"{}".to_vec()),
            false => (status, body),
        }
    }));
    env.write_profile(&profile);
    // An algorithm the provider advertises, so the key is looked up (and cannot be had);
    // the signature's bytes are never reached.
    let token = Forger::new("any").sign(
        serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "key-1"}),
        good_claims(&profile),
    );
    let r = env.run(&["inspect", "--json", &token]);
    assert_failed_check(&r, "signature");
    let human = env.run(&["inspect", &token]);
    assert_eq!(human.code, 11, "{}", human.stderr);
}
