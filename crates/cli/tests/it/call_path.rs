#![cfg(unix)]
//! `latchkey call PATH`: a path is resolved against the profile's first `api_base_urls` entry,
//! as the app's console does; without an API base URL it is a configuration error.

use crate::common::*;

use latchkey_testkit::devidp::DEMO_USERNAME;

#[test]
fn a_path_is_called_on_the_first_api_base_url() {
    let env = Env::new();
    let (_idp, profile) = start_cognito("dev");
    env.write_profile(&profile);
    env.login();

    let r = env.run(&["call", "--json", "/demo-api/orders"]);
    assert_eq!(r.code, 0, "call /demo-api/orders: {}", r.stderr);
    let answer = r.json();
    assert_eq!(answer["status"], 200);
    assert!(
        answer["body"]["orders"].is_array(),
        "the demo API's orders: {answer}"
    );

    // Relative to the base's path, as a URL reference: no leading slash, same answer.
    let r = env.run(&["call", "--json", "demo-api/me"]);
    assert_eq!(r.code, 0, "call demo-api/me: {}", r.stderr);
    assert_eq!(r.json()["body"]["email"], DEMO_USERNAME);
    env.run(&["logout"]);
}

#[test]
fn a_path_without_an_api_base_url_is_a_configuration_error() {
    let env = Env::new();
    let (_idp, mut profile) = start_cognito("dev");
    profile.api_base_urls.clear();
    env.write_profile(&profile);

    // Said before any sign-in is needed: the profile lacks a setting, whoever is signed in.
    let r = env.run(&["call", "--json", "/demo-api/me"]);
    assert_eq!(r.code, 5, "exit code; stderr: {}", r.stderr);
    let error: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "config");
    assert_eq!(error["error"]["exit_code"], 5);
}
