//! The exact claim set of each token per scenario (code grant, refresh, federated sign-in):
//! a fixture's claims (fixtures/, sources in fixtures/README.md), minus what the scenario's
//! user lacks, plus what AWS documents for the scenario. Any other claim fails.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use latchkey_devidp::{DevIdp, DevIdpConfig, FederatedIdp};
use serde_json::Value;

fn fixture_claims(name: &str) -> BTreeSet<String> {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let claims = v.get("claims").unwrap_or(&v);
    claims.as_object().unwrap().keys().cloned().collect()
}

/// `base`'s claims without `absent`, with `added`.
fn expected(base: &str, absent: &[&str], added: &[&str]) -> BTreeSet<String> {
    let mut set = fixture_claims(base);
    for claim in absent {
        assert!(set.remove(*claim), "{claim} is not in {base}");
    }
    set.extend(added.iter().map(|c| c.to_string()));
    set
}

fn claim_set(jwt: &str) -> BTreeSet<String> {
    claims(jwt).as_object().unwrap().keys().cloned().collect()
}

/// The demo user's ID token after a hosted-UI sign-in: AWS's sample without `given_name` (the
/// user has none), with `cognito:groups` (a user in groups), `nonce` (sent at authorize),
/// `at_hash` and `event_id` (a hosted-UI sign-in: pmill/aws-cognito#34), `name` and
/// `custom:tenant` (the user's attributes), `cognito:roles` and `cognito:preferred_role` (the
/// demo pool's groups have IAM roles: the ID-token page).
const SIGN_IN_ID_EXTRAS: [&str; 8] = [
    "cognito:groups",
    "cognito:roles",
    "cognito:preferred_role",
    "nonce",
    "at_hash",
    "event_id",
    "name",
    "custom:tenant",
];

#[test]
fn code_grant_and_refresh_tokens_have_exactly_the_documented_claims() {
    let idp = start();
    let http = http();
    let s = sign_in_with_scope(
        &idp,
        &http,
        "openid email profile aws.cognito.signin.user.admin",
    );
    let body: Value = exchange(&idp, &http, &s.code, &s.pkce.verifier)
        .json()
        .unwrap();
    let id = body["id_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        claim_set(id),
        expected("id_token.json", &["given_name"], &SIGN_IN_ID_EXTRAS),
        "code grant: ID token"
    );
    // AWS's access-token sample without `device_key` (no device tracking), with `version`
    // (the captured tokens) and `event_id` (a sign-in).
    assert_eq!(
        claim_set(access),
        expected(
            "access_token.json",
            &["device_key"],
            &["version", "event_id"]
        ),
        "code grant: access token"
    );

    let refreshed: Value = refresh(&idp, &http, body["refresh_token"].as_str().unwrap())
        .json()
        .unwrap();
    // A refresh is no new authentication event (no event_id) and answers no authorize
    // request (no nonce).
    let id_extras: Vec<&str> = SIGN_IN_ID_EXTRAS
        .into_iter()
        .filter(|c| !matches!(*c, "nonce" | "event_id"))
        .collect();
    assert_eq!(
        claim_set(refreshed["id_token"].as_str().unwrap()),
        expected("id_token.json", &["given_name"], &id_extras),
        "refresh: ID token"
    );
    assert_eq!(
        claim_set(refreshed["access_token"].as_str().unwrap()),
        expected("access_token.json", &["device_key"], &["version"]),
        "refresh: access token"
    );
}

#[test]
fn a_federated_sign_in_has_exactly_the_captured_claims() {
    let idp = DevIdp::start(DevIdpConfig {
        identity_providers: vec![FederatedIdp::named("Google")],
        ..Default::default()
    })
    .unwrap();
    let http = http();
    let pkce = pkce();
    let mut params = authorize_params(&idp, &pkce);
    params.push(("identity_provider".into(), "Google".into()));
    let resp = http.get(authorize_url(&idp, &params)).send().unwrap();
    let external = location(&resp);
    let token = csrf_cookie(&http.get(external.as_str()).send().unwrap()).unwrap();
    let mut form: Vec<(String, String)> = external.query_pairs().into_owned().collect();
    form.push(("user_id".into(), "109354484677663308178".into()));
    form.push(("email".into(), "daniel@example.com".into()));
    form.push(("name".into(), "Daniel".into()));
    let back = location(&post_form(&idp, &http, external.path(), &form, &token));
    let callback = location(&http.get(back.as_str()).send().unwrap());
    let code = param(&callback, "code").unwrap();
    let body: Value = exchange(&idp, &http, &code, &pkce.verifier).json().unwrap();
    // The captured Google token without `given_name` (not mapped here), with `nonce` (sent at
    // authorize), `email_verified` (false: mapped e-mail addresses are unverified, the
    // attribute-mapping guide) and the `jti`/`origin_jti` every token of AWS's samples has.
    assert_eq!(
        claim_set(body["id_token"].as_str().unwrap()),
        expected(
            "federated_id_token.json",
            &["given_name"],
            &["nonce", "email_verified", "jti", "origin_jti"]
        ),
        "federated: ID token"
    );
    assert_eq!(
        claim_set(body["access_token"].as_str().unwrap()),
        expected("federated_access_token_2026.json", &[], &[]),
        "federated: access token"
    );
}
