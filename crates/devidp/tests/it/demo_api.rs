//! The demo API answers like API Gateway: a REST API with a Cognito user-pool authorizer
//! (`/demo-api`) and an HTTP API with a JWT authorizer (`/demo-http-api`). Bodies are AWS's;
//! the reasons are in the provider's log.

use crate::common;

use std::time::Duration;

use common::*;
use latchkey_devidp::{
    DemoApiConfig, DevIdp, DevIdpConfig, Fault, VIEWER_PASSWORD, VIEWER_USERNAME,
};
use serde_json::{json, Value};

struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

fn call_with(idp: &DevIdp, path: &str, header: &str, value: Option<&str>) -> Answer {
    let mut req = http().get(format!("{}{path}", idp.base_url()));
    if let Some(value) = value {
        req = req.header(header, value);
    }
    let resp = req.send().unwrap();
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.json().unwrap(),
    }
}

fn call(idp: &DevIdp, path: &str, auth: Option<&str>) -> Answer {
    call_with(idp, path, "Authorization", auth)
}

fn start_with(api: DemoApiConfig) -> DevIdp {
    DevIdp::start(DevIdpConfig {
        demo_api: api,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn the_id_token_opens_me_and_orders_raw_or_bearer() {
    let idp = start();
    let body = tokens(&idp, &http());
    let id = body["id_token"].as_str().unwrap();
    let me = call(&idp, "/demo-api/me", Some(id));
    assert_eq!(me.status, 200);
    assert_eq!(me.body["username"], claims(id)["cognito:username"]);
    assert_eq!(me.body["email"], latchkey_devidp::DEMO_USERNAME);
    assert_eq!(me.body["token_use"], "id");
    assert!(me.headers.contains_key("x-amzn-requestid"));
    let orders = call(&idp, "/demo-api/orders", Some(&format!("Bearer {id}")));
    assert_eq!(orders.status, 200);
    assert_eq!(orders.body["owner"], me.body["username"]);
    assert_eq!(call(&idp, "/demo-api/admin", Some(id)).status, 200);
    assert_eq!(idp.stats().demo_api, 3);
}

#[test]
fn refusals_are_api_gateways_and_their_reasons_are_in_the_log() {
    let idp = start();
    let body = tokens(&idp, &http());
    let id = body["id_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    let mut tampered = id.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let other = start();
    let foreign = tokens(&other, &http())["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    for (auth, logged) in [
        (None, "no token in the Authorization header"),
        (Some("garbage"), "not a JWT"),
        (Some(access), "takes the ID token"),
        (Some(tampered.as_str()), "signature"),
        (Some(foreign.as_str()), "not in the provider's JWKS"),
    ] {
        let a = call(&idp, "/demo-api/me", auth);
        assert_eq!(a.status, 401, "{logged}");
        assert_eq!(
            a.body,
            json!({"message": "Unauthorized"}),
            "{logged}: the body says no more"
        );
        assert_eq!(a.headers["x-amzn-errortype"], "UnauthorizedException");
        assert!(
            idp.log_tail(5).iter().any(|l| l.contains(logged)),
            "the log says why: {logged}"
        );
    }
    idp.advance_clock(Duration::from_secs(3601));
    let a = call(&idp, "/demo-api/orders", Some(id));
    assert_eq!(
        (a.status, a.body),
        (401, json!({"message": "The incoming token has expired"}))
    );
    // Unknown resources and methods: answered before any authorizer, token or not.
    for path in ["/demo-api/nope", "/demo-api/", "/demo-api/me/extra"] {
        let a = call(&idp, path, None);
        assert_eq!(a.status, 403, "{path}");
        assert_eq!(a.body, json!({"message": "Missing Authentication Token"}));
        assert_eq!(
            a.headers["x-amzn-errortype"],
            "MissingAuthenticationTokenException"
        );
    }
    let post = http()
        .post(format!("{}/demo-api/me", idp.base_url()))
        .send()
        .unwrap();
    assert_eq!(post.status(), 403);
}

#[test]
fn a_rest_authorizer_accepts_any_client_of_the_pool_unless_told_otherwise() {
    let idp = start();
    idp.set_fault(Fault::IdTokenWrongAudience);
    let id = tokens(&idp, &http())["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        call(&idp, "/demo-api/me", Some(&id)).status,
        200,
        "no aud check"
    );
    // The HTTP API's JWT authorizer does check it.
    let a = call(&idp, "/demo-http-api/me", Some(&id));
    assert_eq!(a.status, 401);
    assert!(a.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("the token does not have a valid audience"));
    idp.clear_faults();
    // The issuer is checked by both.
    idp.set_fault(Fault::IdTokenWrongIssuer);
    let id = tokens(&idp, &http())["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(call(&idp, "/demo-api/me", Some(&id)).status, 401);
    assert_eq!(call(&idp, "/demo-http-api/me", Some(&id)).status, 401);

    let strict = start_with(DemoApiConfig {
        audiences: vec!["some-other-client".into()],
        ..Default::default()
    });
    let id = tokens(&strict, &http())["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(call(&strict, "/demo-api/me", Some(&id)).status, 401);
}

#[test]
fn the_token_source_header_is_configurable() {
    let idp = start_with(DemoApiConfig {
        token_header: "X-Id-Token".into(),
        ..Default::default()
    });
    let id = tokens(&idp, &http())["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        call(&idp, "/demo-api/me", Some(&id)).status,
        401,
        "not in Authorization"
    );
    assert_eq!(
        call_with(&idp, "/demo-api/me", "X-Id-Token", Some(&id)).status,
        200
    );
}

#[test]
fn scope_mode_wants_an_access_token_with_one_of_the_scopes() {
    let idp = start_with(DemoApiConfig {
        scopes: vec!["aws.cognito.signin.user.admin".into()],
        ..Default::default()
    });
    let http = http();
    let s = sign_in_with_scope(&idp, &http, "openid aws.cognito.signin.user.admin");
    let body: Value = exchange(&idp, &http, &s.code, &s.pkce.verifier)
        .json()
        .unwrap();
    let access = body["access_token"].as_str().unwrap();
    let a = call(&idp, "/demo-api/me", Some(access));
    assert_eq!(a.status, 200);
    assert_eq!(a.body["token_use"], "access");
    assert_eq!(a.body["username"], claims(access)["username"]);
    // The ID token, or an access token without the scope: refused.
    assert_eq!(
        call(&idp, "/demo-api/me", body["id_token"].as_str()).status,
        401
    );
    let plain = tokens(&idp, &http);
    assert_eq!(
        call(&idp, "/demo-api/me", plain["access_token"].as_str()).status,
        401
    );
    assert!(idp
        .log_tail(5)
        .iter()
        .any(|l| l.contains("include none of")));
}

#[test]
fn the_http_api_takes_either_token_of_the_client_and_checks_scopes() {
    let idp = start();
    let body = tokens(&idp, &http());
    for token in ["id_token", "access_token"] {
        let t = body[token].as_str().unwrap();
        let a = call(&idp, "/demo-http-api/me", Some(&format!("Bearer {t}")));
        assert_eq!(
            a.status, 200,
            "{token}: aud, or client_id when there is no aud"
        );
        assert!(a.headers.contains_key("apigw-requestid"));
    }
    let a = call(&idp, "/demo-http-api/me", None);
    assert_eq!(
        (a.status, a.body),
        (401, json!({"message": "Unauthorized"}))
    );
    let a = call(&idp, "/demo-http-api/nope", None);
    assert_eq!((a.status, a.body), (404, json!({"message": "Not Found"})));
    idp.advance_clock(Duration::from_secs(3601));
    let a = call(&idp, "/demo-http-api/me", body["access_token"].as_str());
    assert_eq!(a.status, 401);
    assert_eq!(
        a.headers["www-authenticate"],
        "Bearer scope=\"\" error=\"invalid_token\" error_description=\"the token has expired\""
    );

    let scoped = start_with(DemoApiConfig {
        http_api_scopes: vec!["orders/read".into()],
        ..Default::default()
    });
    let body = tokens(&scoped, &http());
    let a = call(
        &scoped,
        "/demo-http-api/orders",
        body["access_token"].as_str(),
    );
    assert_eq!((a.status, a.body), (403, json!({"message": "Forbidden"})));
    assert!(a.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
}

#[test]
fn admin_is_the_backends_to_refuse_for_viewers() {
    let idp = start();
    let body = tokens_as(&idp, &http(), VIEWER_USERNAME, VIEWER_PASSWORD);
    let id = body["id_token"].as_str().unwrap();
    let me = call(&idp, "/demo-api/me", Some(id));
    assert_eq!(
        (me.status, me.body["email"].as_str()),
        (200, Some(VIEWER_USERNAME))
    );
    let a = call(&idp, "/demo-api/admin", Some(id));
    assert_eq!(a.status, 403);
    assert!(a.body["message"].as_str().unwrap().contains("admins"));
}

/// A browser's preflight for a cross-origin call with a token.
fn preflight(idp: &DevIdp, path: &str) -> reqwest::blocking::Response {
    http()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}{path}", idp.base_url()),
        )
        .header("Origin", "http://localhost:3000")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .unwrap()
}

#[test]
fn the_demo_apis_answer_cross_origin_only_once_cors_is_configured() {
    const ALLOW_ORIGIN: &str = "access-control-allow-origin";
    let plain = start();
    let id = tokens(&plain, &http())["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    for path in ["/demo-api/me", "/demo-http-api/me"] {
        // A new API Gateway API sends no CORS headers until CORS is configured.
        let answer = call(&plain, path, Some(&id));
        assert_eq!(answer.status, 200, "{path}");
        assert!(!answer.headers.contains_key(ALLOW_ORIGIN), "{path}");
        let refused = preflight(&plain, path);
        assert!(!refused.status().is_success(), "{path}: no preflight");
        assert!(!refused.headers().contains_key(ALLOW_ORIGIN), "{path}");
    }

    let cors = start_with(DemoApiConfig {
        cors: true,
        ..Default::default()
    });
    let id = tokens(&cors, &http())["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    for path in ["/demo-api/me", "/demo-http-api/me"] {
        assert_eq!(call(&cors, path, Some(&id)).headers[ALLOW_ORIGIN], "*");
        let approved = preflight(&cors, path);
        assert_eq!(approved.status(), 204, "{path}");
        assert_eq!(approved.headers()[ALLOW_ORIGIN], "*");
    }
}

#[test]
fn the_http_api_refuses_a_token_issued_in_the_future() {
    let idp = start();
    idp.set_fault(Fault::IdTokenIatInFuture);
    let id = tokens(&idp, &http())["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(claims(&id)["iat"].as_i64().unwrap() > now());
    let answer = call(&idp, "/demo-http-api/me", Some(&id));
    assert_eq!(answer.status, 401, "iat must be before the current time");
    assert!(answer.headers.contains_key("www-authenticate"));
}

/// The REST API with API Gateway's JWT authorizer type: a token of the client without one of
/// the method's scopes is refused with 403 (rest-api-jwt-authorizer-methods), a bad one 401.
#[test]
fn the_rest_jwt_authorizer_refuses_missing_scopes_with_403() {
    let idp = start_with(DemoApiConfig {
        rest_jwt_scopes: vec!["aws.cognito.signin.user.admin".into()],
        ..Default::default()
    });
    let http = http();
    let plain = tokens(&idp, &http);
    let access = plain["access_token"].as_str().unwrap();
    let a = call(&idp, "/demo-rest-jwt-api/me", Some(access));
    assert_eq!(a.status, 403);
    assert_eq!(a.headers["x-amzn-errortype"], "AccessDeniedException");
    assert_eq!(a.body, json!({"message": "Forbidden"}));
    let a = call(&idp, "/demo-rest-jwt-api/me", Some("not-a-token"));
    assert_eq!(a.status, 401);
    assert_eq!(a.headers["x-amzn-errortype"], "UnauthorizedException");

    let s = sign_in_with_scope(&idp, &http, "openid email aws.cognito.signin.user.admin");
    let admin: Value = exchange(&idp, &http, &s.code, &s.pkce.verifier)
        .json()
        .unwrap();
    let a = call(
        &idp,
        "/demo-rest-jwt-api/me",
        Some(admin["access_token"].as_str().unwrap()),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
}
