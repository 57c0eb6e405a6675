//! The demo protected API behaves like API Gateway with a Cognito authorizer:
//! ID token required (raw or Bearer), 401 with a reason, 403 for non-admins on /admin.

mod common;

use std::time::Duration;

use common::*;
use latchkey_devidp::{DEMO_USERNAME, VIEWER_PASSWORD, VIEWER_USERNAME};
use serde_json::Value;

fn call(
    idp: &latchkey_devidp::DevIdp,
    path: &str,
    auth: Option<&str>,
) -> (u16, Value, Option<String>) {
    let http = http();
    let mut req = http.get(format!("{}/demo-api/{path}", idp.base_url()));
    if let Some(auth) = auth {
        req = req.header("Authorization", auth);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let www = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (status, resp.json().unwrap(), www)
}

#[test]
fn id_token_opens_me_and_orders_raw_or_bearer() {
    let idp = start();
    let body = tokens(&idp, &http());
    let id = body["id_token"].as_str().unwrap();
    let (status, me, _) = call(&idp, "me", Some(id));
    assert_eq!(status, 200);
    assert_eq!(me["username"], claims(id)["cognito:username"]);
    assert_eq!(me["email"], DEMO_USERNAME);
    assert_eq!(me["sub"], claims(id)["sub"]);
    let (status, orders, _) = call(&idp, "orders", Some(&format!("Bearer {id}")));
    assert_eq!(status, 200);
    assert_eq!(orders["owner"], me["username"]);
    assert!(!orders["orders"].as_array().unwrap().is_empty());
    let (status, admin, _) = call(&idp, "admin", Some(id));
    assert_eq!(status, 200, "{admin}");
    assert_eq!(idp.stats().demo_api, 3);
}

#[test]
fn admin_is_forbidden_for_viewers() {
    let idp = start();
    let body = tokens_as(&idp, &http(), VIEWER_USERNAME, VIEWER_PASSWORD);
    let id = body["id_token"].as_str().unwrap();
    let (status, me, _) = call(&idp, "me", Some(id));
    assert_eq!((status, me["email"].as_str()), (200, Some(VIEWER_USERNAME)));
    let (status, body, _) = call(&idp, "admin", Some(id));
    assert_eq!(status, 403);
    assert!(body["message"].as_str().unwrap().contains("admins"));
}

#[test]
fn bad_credentials_get_401_with_a_reason() {
    let idp = start();
    let body = tokens(&idp, &http());
    let id = body["id_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    // Tampered signature.
    let mut tampered = id.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    // Token from another provider instance (different keys).
    let other = start();
    let foreign = tokens(&other, &http())["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let cases: Vec<(Option<&str>, &str)> = vec![
        (None, "missing"),
        (Some("garbage"), "not a JWT"),
        (Some(access), "ID token"),
        (Some(&tampered), "signature"),
        (Some(&foreign), "not in the provider's JWKS"),
    ];
    for (auth, reason) in cases {
        let (status, body, www) = call(&idp, "me", auth);
        assert_eq!(status, 401, "{reason}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(reason),
            "{message:?} should mention {reason:?}"
        );
        let www = www.expect("WWW-Authenticate");
        assert!(www.starts_with("Bearer error=\"invalid_token\""), "{www}");
        assert!(www.contains("error_description="));
    }
    // Expired.
    idp.advance_clock(Duration::from_secs(3601));
    let (status, body, _) = call(&idp, "orders", Some(id));
    assert_eq!(status, 401);
    assert!(body["message"].as_str().unwrap().contains("expired"));
}

#[test]
fn wrong_issuer_or_audience_is_401() {
    let idp = start();
    let http = http();
    idp.set_fault(latchkey_devidp::Fault::IdTokenWrongIssuer);
    let id = tokens(&idp, &http)["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body, _) = call(&idp, "me", Some(&id));
    assert_eq!(status, 401);
    assert!(body["message"].as_str().unwrap().contains("issued by"));
    idp.clear_faults();
    idp.set_fault(latchkey_devidp::Fault::IdTokenWrongAudience);
    let id = tokens(&idp, &http)["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body, _) = call(&idp, "me", Some(&id));
    assert_eq!(status, 401);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("another app client"));
}
