//! The faults for what a provider does after a good sign-in, over real HTTP: a refreshed ID
//! token with another `auth_time`, access tokens without `iat`, any `expires_in`, and a
//! revocation endpoint that fails (and revokes nothing).

use crate::common;

use common::*;
use latchkey_devidp::Fault;
use serde_json::Value;

#[test]
fn refresh_different_auth_time_moves_auth_time_on_refreshed_id_tokens_only() {
    let idp = start();
    let http = http();
    idp.set_fault(Fault::RefreshDifferentAuthTime);
    let first = tokens(&idp, &http);
    let signed_in_at = claims(first["id_token"].as_str().unwrap())["auth_time"]
        .as_i64()
        .expect("the sign-in's ID token has auth_time");
    let resp = refresh(&idp, &http, first["refresh_token"].as_str().unwrap());
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().unwrap();
    let id = body["id_token"].as_str().unwrap();
    assert!(verify(&idp, &http, id), "still correctly signed");
    assert_eq!(claims(id)["auth_time"].as_i64(), Some(signed_in_at + 3600));
}

#[test]
fn access_token_without_iat_leaves_out_only_iat() {
    let idp = start();
    let http = http();
    idp.set_fault(Fault::AccessTokenWithoutIat);
    let body = tokens(&idp, &http);
    let access = body["access_token"].as_str().unwrap();
    assert!(verify(&idp, &http, access));
    let c = claims(access);
    assert!(c.get("iat").is_none(), "{c}");
    assert!(c["exp"].is_i64());
    assert!(claims(body["id_token"].as_str().unwrap())["iat"].is_i64());
}

#[test]
fn token_expires_in_is_put_in_every_token_response() {
    let idp = start();
    let http = http();
    idp.set_fault(Fault::TokenExpiresIn(-3600));
    let first = tokens(&idp, &http);
    assert_eq!(first["expires_in"], -3600);
    let resp = refresh(&idp, &http, first["refresh_token"].as_str().unwrap());
    assert_eq!(resp.json::<Value>().unwrap()["expires_in"], -3600);
    assert_eq!(
        "token_expires_in=-5".parse::<Fault>().unwrap(),
        Fault::TokenExpiresIn(-5)
    );
}

#[test]
fn revoke_server_error_answers_500_and_the_refresh_token_keeps_working() {
    let idp = start();
    let http = http();
    let first = tokens(&idp, &http);
    let refresh_token = first["refresh_token"].as_str().unwrap();
    idp.set_fault(Fault::RevokeServerError);
    let resp = http
        .post(format!("{}/oauth2/revoke", idp.base_url()))
        .form(&[("token", refresh_token), ("client_id", &idp.client_id())])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "server_error");
    assert_eq!(idp.stats().revocations, 1);
    idp.clear_faults();
    assert_eq!(refresh(&idp, &http, refresh_token).status(), 200);
}
