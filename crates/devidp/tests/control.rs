//! The `/_devidp/` control endpoint: the same switches as the in-process API, over HTTP.

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn faults_can_be_set_listed_and_cleared_over_http() {
    let idp = start();
    let http = http();
    let url = format!("{}/_devidp/faults", idp.base_url());
    let resp = http
        .post(&url)
        .json(&json!(["id_token_missing_sub", {"fault": "token_slow", "millis": 5}, {"fault": "clock_offset", "secs": -30}]))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let listed: Value = resp.json().unwrap();
    assert_eq!(
        listed["faults"],
        json!(["id_token_missing_sub", "token_slow=5ms", "clock_offset=-30"])
    );
    let resp = http
        .post(&url)
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
    let resp = http
        .post(&url)
        .json(&json!("no_such_fault"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.json::<Value>().unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("known faults"));
    let resp = http.post(&url).body("{").send().unwrap();
    assert_eq!(resp.status(), 400);

    let resp = http.delete(&url).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(idp.faults().is_empty());
    let listed: Value = http.get(&url).send().unwrap().json().unwrap();
    assert_eq!(listed["faults"], json!([]));
}

#[test]
fn rotate_keys_clock_stats_confirmation_code_and_log() {
    let idp = start();
    let http = http();
    let base = idp.base_url();
    let before = jwks(&idp, &http);
    let resp = http
        .post(format!("{base}/_devidp/rotate-keys"))
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
    let resp = http
        .post(format!("{base}/_devidp/clock"))
        .json(&json!({"advance_secs": 360}))
        .send()
        .unwrap();
    assert_eq!(resp.json::<Value>().unwrap()["advance_secs"], 360);
    assert_eq!(
        exchange(&idp, &http, &s.code, &s.pkce.verifier).status(),
        400
    );

    let stats: Value = http
        .get(format!("{base}/_devidp/stats"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(stats["authorize"], 1);
    assert_eq!(stats["logins"], 1);
    assert_eq!(stats["token_authorization_code"], 1);
    assert_eq!(stats["token_refresh_token"], 0);
    assert_eq!(stats["jwks"], 2);

    let resp = http
        .get(format!("{base}/_devidp/confirmation-code"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);

    let log: Value = http
        .get(format!("{base}/_devidp/log?n=5"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let lines = log["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 5);
    assert!(!log.to_string().contains(&s.code), "codes are masked");

    let resp = http.get(format!("{base}/_devidp/nope")).send().unwrap();
    assert_eq!(resp.status(), 404);
}

#[test]
fn unknown_paths_and_preflight() {
    let idp = start();
    let http = http();
    let resp = http
        .get(format!("{}/nothing-here", idp.base_url()))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/oauth2/token", idp.base_url()),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let resp = http.get(format!("{}/", idp.base_url())).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().unwrap().contains(&idp.issuer()));
}
