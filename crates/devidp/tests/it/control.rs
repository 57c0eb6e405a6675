//! The `/_devidp/` control endpoint: the same switches as the in-process API, over HTTP, and
//! the gate in front of it (per-run secret, JSON bodies only, no CORS) that keeps web pages out.

use crate::common;

use common::*;
use latchkey_devidp::{DevIdp, DevIdpConfig, CONTROL_TOKEN_HEADER};
use reqwest::Method;
use serde_json::{json, Value};

#[test]
fn faults_can_be_set_listed_and_cleared_over_http() {
    let idp = start();
    let http = http();
    let resp = control(&idp, &http, Method::POST, "faults")
        .json(&json!(["id_token_missing_sub", {"fault": "token_slow", "millis": 5}, {"fault": "clock_offset", "secs": -30}]))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let listed: Value = resp.json().unwrap();
    assert_eq!(
        listed["faults"],
        json!(["id_token_missing_sub", "token_slow=5ms", "clock_offset=-30"])
    );
    let resp = control(&idp, &http, Method::POST, "faults")
        .json(&json!("id_token_expired"))
        .send()
        .unwrap();
    assert_eq!(
        resp.json::<Value>().unwrap()["faults"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(idp.faults().len(), 4);
    let c = claims(tokens(&idp, &http)["id_token"].as_str().unwrap());
    assert!(c.get("sub").is_none());

    // Bad input: 400 with a reason naming the known faults.
    let resp = control(&idp, &http, Method::POST, "faults")
        .json(&json!("no_such_fault"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.json::<Value>().unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("known faults"));
    let resp = control(&idp, &http, Method::POST, "faults")
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);

    let resp = control(&idp, &http, Method::DELETE, "faults")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(idp.faults().is_empty());
    let listed: Value = control(&idp, &http, Method::GET, "faults")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["faults"], json!([]));
}

#[test]
fn rotate_keys_clock_stats_confirmation_code_and_log() {
    let idp = start();
    let http = http();
    let before = jwks(&idp, &http);
    let resp = control(&idp, &http, Method::POST, "rotate-keys")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let kids: Value = resp.json().unwrap();
    let after = jwks(&idp, &http);
    assert_ne!(before, after);
    assert_eq!(after["keys"][0]["kid"], kids["id_kid"]);
    assert_eq!(after["keys"][1]["kid"], kids["access_kid"]);

    // Clock: a code expires after the clock moves 6 minutes.
    let s = sign_in(&idp, &http);
    let resp = control(&idp, &http, Method::POST, "clock")
        .json(&json!({"advance_secs": 360}))
        .send()
        .unwrap();
    assert_eq!(resp.json::<Value>().unwrap()["advance_secs"], 360);
    assert_eq!(
        exchange(&idp, &http, &s.code, &s.pkce.verifier).status(),
        400
    );

    let stats: Value = control(&idp, &http, Method::GET, "stats")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(stats["authorize"], 1);
    assert_eq!(stats["logins"], 1);
    assert_eq!(stats["token_authorization_code"], 1);
    assert_eq!(stats["token_refresh_token"], 0);
    assert_eq!(stats["jwks"], 2);

    let resp = control(&idp, &http, Method::GET, "confirmation-code")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);

    let log: Value = control(&idp, &http, Method::GET, "log?n=5")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let lines = log["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 5);
    assert!(!log.to_string().contains(&s.code), "codes are masked");

    let resp = control(&idp, &http, Method::GET, "nope").send().unwrap();
    assert_eq!(resp.status(), 404);
}

/// What a web page the user visits could send: a cross-origin `fetch` (with an `Origin`), no
/// secret, a "simple" body that needs no CORS preflight.
#[test]
fn a_cross_origin_request_without_the_secret_is_refused_and_gets_no_cors_headers() {
    let idp = start();
    let http = http();
    let base = idp.base_url();
    for (method, path, body) in [
        (Method::GET, "faults", None),
        (Method::GET, "log?n=10", None),
        (Method::GET, "stats", None),
        (Method::GET, "confirmation-code", None),
        (Method::POST, "faults", Some("\"token_server_error\"")),
        (Method::POST, "rotate-keys", None),
        (Method::POST, "clock", Some("{\"advance_secs\": 9999}")),
        (Method::DELETE, "faults", None),
    ] {
        let mut req = http
            .request(method.clone(), format!("{base}/_devidp/{path}"))
            .header("Origin", "https://evil.example");
        if let Some(body) = body {
            req = req.header("Content-Type", "text/plain").body(body);
        }
        let resp = req.send().unwrap();
        assert_eq!(resp.status(), 401, "{method} {path}");
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{method} {path}: no CORS header"
        );
    }
    // The preflight a page needs for the custom header gets no CORS approval either.
    let resp = http
        .request(Method::OPTIONS, format!("{base}/_devidp/faults"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", CONTROL_TOKEN_HEADER)
        .send()
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    assert!(resp.headers().get("access-control-allow-headers").is_none());
    // Nothing happened.
    assert!(idp.faults().is_empty());
    assert_eq!(idp.stats().jwks, 0);
    let before = jwks(&idp, &http);
    assert_eq!(before, jwks(&idp, &http), "keys were not rotated");
    let s = sign_in(&idp, &http);
    assert_eq!(
        exchange(&idp, &http, &s.code, &s.pkce.verifier).status(),
        200,
        "the clock was not moved and no fault is on"
    );
    // The refusals are in the log, without the secret.
    let log = idp.log_tail(50).join("\n");
    assert!(log.contains("control: refused"));
    assert!(!log.contains(&idp.control_token()));
}

#[test]
fn a_wrong_secret_is_refused() {
    let idp = start();
    let http = http();
    let wrong = format!("{}x", idp.control_token());
    let resp = http
        .get(format!("{}/_devidp/log", idp.base_url()))
        .header(CONTROL_TOKEN_HEADER, wrong)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 403);
    let other = start();
    let resp = http
        .get(format!("{}/_devidp/log", idp.base_url()))
        .header(CONTROL_TOKEN_HEADER, other.control_token())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 403, "each run has its own secret");
    assert_ne!(idp.control_token(), other.control_token());
}

#[test]
fn a_form_or_text_body_is_refused_with_415_even_with_the_secret() {
    let idp = start();
    let http = http();
    let resp = control(&idp, &http, Method::POST, "faults")
        .form(&[("fault", "token_server_error")])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 415);
    let resp = control(&idp, &http, Method::POST, "faults")
        .header("Content-Type", "text/plain")
        .body("\"token_server_error\"")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 415);
    let resp = control(&idp, &http, Method::POST, "clock")
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body("{\"advance_secs\": 3600}")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert!(idp.faults().is_empty(), "no fault was switched on");
    // The same body as JSON works.
    let resp = control(&idp, &http, Method::POST, "faults")
        .header("Content-Type", "application/json; charset=utf-8")
        .body("\"token_server_error\"")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(idp.faults(), vec!["token_server_error"]);
}

#[test]
fn the_control_token_can_be_configured_and_must_be_strong_enough() {
    let idp = DevIdp::start(DevIdpConfig {
        control_token: Some("a-shared-test-secret-0123".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(idp.control_token(), "a-shared-test-secret-0123");
    let resp = http()
        .get(format!("{}/_devidp/faults", idp.base_url()))
        .header(CONTROL_TOKEN_HEADER, "a-shared-test-secret-0123")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    for weak in ["short", "has spaces in it, so no", ""] {
        let err = DevIdp::start(DevIdpConfig {
            control_token: Some(weak.into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            matches!(err, latchkey_devidp::DevIdpError::Config(_)),
            "{weak:?}: {err}"
        );
    }
    // Generated tokens are long and differ per run (the other tests compare two runs).
    assert!(start().control_token().len() >= 32);
}

#[test]
fn unknown_paths_and_preflight_outside_the_control_endpoint() {
    let idp = start();
    let http = http();
    let resp = http
        .get(format!("{}/nothing-here", idp.base_url()))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = http
        .request(Method::OPTIONS, format!("{}/oauth2/token", idp.base_url()))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let resp = http.get(format!("{}/", idp.base_url())).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains(&idp.issuer()));
}
