//! The user pool's JSON API beyond GlobalSignOut: GetUser, InitiateAuth with the refresh
//! flows, GetTokensFromRefreshToken, RevokeToken, and the Content-Type AWS requires.

use crate::common;

use std::time::Duration;

use common::*;
use latchkey_devidp::{ClientConfig, DevIdp, DevIdpConfig, Rotation, DEMO_USERNAME};
use reqwest::blocking::Client;
use serde_json::{json, Value};

const ADMIN_SCOPES: &str = "openid email aws.cognito.signin.user.admin";

/// One JSON API call as the SDKs make it: (status, `x-amzn-ErrorType`, body bytes).
fn call(idp: &DevIdp, http: &Client, operation: &str, body: &Value) -> (u16, String, Vec<u8>) {
    call_typed(idp, http, operation, body, "application/x-amz-json-1.1")
}

fn call_typed(
    idp: &DevIdp,
    http: &Client,
    operation: &str,
    body: &Value,
    content_type: &str,
) -> (u16, String, Vec<u8>) {
    let resp = http
        .post(format!("{}/", idp.cognito_idp_url()))
        .header("Content-Type", content_type)
        .header(
            "X-Amz-Target",
            format!("AWSCognitoIdentityProviderService.{operation}"),
        )
        .body(body.to_string())
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, resp.bytes().unwrap().to_vec())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// The demo user's tokens with the scope the user's own operations need.
fn admin_tokens(idp: &DevIdp, http: &Client) -> Value {
    let s = sign_in_with_scope(idp, http, ADMIN_SCOPES);
    exchange(idp, http, &s.code, &s.pkce.verifier)
        .json()
        .unwrap()
}

fn start_with_rotation() -> DevIdp {
    DevIdp::start(DevIdpConfig {
        client: ClientConfig {
            rotation: Some(Rotation {
                grace_period: Duration::from_secs(0),
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn get_user_answers_for_a_live_token_and_not_after_a_global_sign_out() {
    let idp = start();
    let http = http();
    let t = admin_tokens(&idp, &http);
    let access = json!({ "AccessToken": t["access_token"] });
    let (status, _, body) = call(&idp, &http, "GetUser", &access);
    assert_eq!(status, 200);
    let body = json_of(&body);
    assert_eq!(
        body["Username"],
        claims(t["access_token"].as_str().unwrap())["username"]
    );
    let names: Vec<&str> = body["UserAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "sub");
    assert!(names.contains(&"email"), "{names:?}");
    assert_eq!(idp.stats().get_user, 1);

    let (status, _, _) = call(&idp, &http, "GlobalSignOut", &access);
    assert_eq!(status, 200);
    let (status, kind, body) = call(&idp, &http, "GetUser", &access);
    assert_eq!((status, kind.as_str()), (400, "NotAuthorizedException"));
    assert_eq!(json_of(&body)["__type"], "NotAuthorizedException");
}

#[test]
fn get_user_needs_the_admin_scope() {
    let idp = start();
    let http = http();
    let t = tokens(&idp, &http);
    let (status, kind, _) = call(
        &idp,
        &http,
        "GetUser",
        &json!({ "AccessToken": t["access_token"] }),
    );
    assert_eq!((status, kind.as_str()), (400, "NotAuthorizedException"));
}

#[test]
fn initiate_auth_refreshes_with_both_flow_names_and_returns_no_refresh_token() {
    let idp = start();
    let http = http();
    let t = tokens(&idp, &http);
    for flow in ["REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"] {
        let request = json!({
            "AuthFlow": flow,
            "ClientId": idp.client_id(),
            "AuthParameters": { "REFRESH_TOKEN": t["refresh_token"] },
        });
        let (status, _, body) = call(&idp, &http, "InitiateAuth", &request);
        assert_eq!(status, 200, "{flow}");
        let body = json_of(&body);
        let result = body["AuthenticationResult"].as_object().unwrap();
        let mut members: Vec<&str> = result.keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(
            members,
            ["AccessToken", "ExpiresIn", "IdToken", "TokenType"]
        );
        assert_eq!(result["TokenType"], "Bearer");
        assert!(verify(&idp, &http, result["IdToken"].as_str().unwrap()));
        assert_eq!(body["ChallengeParameters"], json!({}));
    }
    assert_eq!(idp.stats().json_api_refreshes, 2);
}

#[test]
fn initiate_auth_refuses_a_revoked_refresh_token_and_other_flows() {
    let idp = start();
    let http = http();
    let t = tokens(&idp, &http);
    let (status, _, body) = call(
        &idp,
        &http,
        "RevokeToken",
        &json!({ "Token": t["refresh_token"], "ClientId": idp.client_id() }),
    );
    assert_eq!(status, 200);
    assert!(body.is_empty(), "RevokeToken answers an empty body");
    let request = json!({
        "AuthFlow": "REFRESH_TOKEN_AUTH",
        "ClientId": idp.client_id(),
        "AuthParameters": { "REFRESH_TOKEN": t["refresh_token"] },
    });
    let (status, kind, _) = call(&idp, &http, "InitiateAuth", &request);
    assert_eq!((status, kind.as_str()), (400, "NotAuthorizedException"));
    // The token endpoint agrees: the same token is spent there too.
    let resp = refresh(&idp, &http, t["refresh_token"].as_str().unwrap());
    assert_eq!(resp.json::<Value>().unwrap()["error"], "invalid_grant");

    let password = json!({
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": idp.client_id(),
        "AuthParameters": { "USERNAME": DEMO_USERNAME, "PASSWORD": "x" },
    });
    let (status, kind, _) = call(&idp, &http, "InitiateAuth", &password);
    assert_eq!((status, kind.as_str()), (400, "InvalidParameterException"));
}

#[test]
fn get_tokens_from_refresh_token_rotates_and_the_old_token_then_fails() {
    let idp = start_with_rotation();
    let http = http();
    let t = tokens(&idp, &http);
    let request = json!({ "RefreshToken": t["refresh_token"], "ClientId": idp.client_id() });
    let (status, _, body) = call(&idp, &http, "GetTokensFromRefreshToken", &request);
    assert_eq!(status, 200);
    let result = json_of(&body)["AuthenticationResult"].clone();
    let rotated = result["RefreshToken"].as_str().unwrap();
    assert_ne!(rotated, t["refresh_token"].as_str().unwrap());
    // No grace period: the old token is spent, the new one works.
    let (status, kind, _) = call(&idp, &http, "GetTokensFromRefreshToken", &request);
    assert_eq!((status, kind.as_str()), (400, "NotAuthorizedException"));
    let again = json!({ "RefreshToken": rotated, "ClientId": idp.client_id() });
    assert_eq!(
        call(&idp, &http, "GetTokensFromRefreshToken", &again).0,
        200
    );
}

#[test]
fn an_unknown_client_id_is_a_resource_not_found() {
    let idp = start();
    let http = http();
    let t = tokens(&idp, &http);
    let request =
        json!({ "RefreshToken": t["refresh_token"], "ClientId": "someoneelse0client00000000" });
    let (status, kind, _) = call(&idp, &http, "GetTokensFromRefreshToken", &request);
    assert_eq!((status, kind.as_str()), (400, "ResourceNotFoundException"));
}

#[test]
fn a_request_that_is_not_amz_json_is_not_read() {
    let idp = start();
    let http = http();
    let t = admin_tokens(&idp, &http);
    let access = json!({ "AccessToken": t["access_token"] });
    let (status, kind, _) = call_typed(&idp, &http, "GetUser", &access, "application/json");
    assert_eq!((status, kind.as_str()), (400, "SerializationException"));
    assert_eq!(idp.stats().get_user, 0, "the operation never ran");
}
