//! `status --check` and `doctor` ask the provider whether the session is still valid there:
//! a Cognito session signed out everywhere from another device shows as ended, with its cause.

use crate::common;

use common::*;
use serde_json::{json, Value};

/// Another device signs the user out everywhere: the user pool's GlobalSignOut, called with
/// an access token of the same user as the AWS SDKs call it.
fn global_sign_out_elsewhere(idp: &latchkey_testkit::devidp::DevIdp, access: &str) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/", idp.cognito_idp_url()))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "X-Amz-Target",
            "AWSCognitoIdentityProviderService.GlobalSignOut",
        )
        .body(json!({ "AccessToken": access }).to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[test]
fn status_check_shows_a_session_signed_out_everywhere_as_ended_at_the_provider() {
    let env = Env::new();
    let (idp, mut profile) = start_cognito("pool");
    profile.scopes.push("aws.cognito.signin.user.admin".into());
    env.write_profile(&profile);
    env.login();
    let live = env.run(&["status", "--check", "--json"]);
    assert_eq!(live.code, 0, "{}", live.stderr);
    assert_eq!(live.json()["provider_check"], "live");
    crate::cli_doc::assert_documented("latchkey status --json", &live.json());
    assert_eq!(idp.stats().get_user, 1);

    let access = env.run(&["token", "--access"]).stdout.trim().to_owned();
    global_sign_out_elsewhere(&idp, &access);
    // By its tokens' expiry alone, the session still looks signed in.
    assert_eq!(env.run(&["status"]).code, 0);
    let ended = env.run(&["status", "--check", "--json"]);
    assert_eq!(ended.code, 12, "{}", ended.stderr);
    let report: Value = ended.json();
    assert_eq!(report["signed_in"], false);
    assert_eq!(report["provider_check"], "ended_at_provider");
    assert_eq!(report["ended"]["cause"], "ended_at_provider");
    assert_eq!(report["ended"]["kind"], "session_expired");
    assert_eq!(report["ended"]["provider_error"], "NotAuthorizedException");
    crate::cli_doc::assert_documented("latchkey status --json", &report);
    // It has ended here too: a plain status says so, with the same record.
    let after = env.run(&["status", "--json"]);
    assert_eq!(after.code, 12);
    assert_eq!(after.json()["ended"]["cause"], "ended_at_provider");
}

#[test]
fn doctor_fails_the_validity_check_of_a_session_ended_at_the_provider() {
    let env = Env::new();
    let (idp, mut profile) = start_cognito("pool");
    profile.scopes.push("aws.cognito.signin.user.admin".into());
    env.write_profile(&profile);
    env.login();
    let validity = |run: &Run| {
        let report = run.json();
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "validity")
            .map(|c| c["status"].clone())
    };
    let healthy = env.run(&["doctor", "--json"]);
    assert_eq!(validity(&healthy), Some(json!("ok")), "{}", healthy.stdout);
    let access = env.run(&["token", "--access"]).stdout.trim().to_owned();
    global_sign_out_elsewhere(&idp, &access);
    let sick = env.run(&["doctor", "--json"]);
    assert_eq!(validity(&sick), Some(json!("fail")), "{}", sick.stdout);
    assert_eq!(idp.stats().get_user, 2);
}

#[test]
fn status_check_does_not_ask_an_oidc_provider_or_without_the_admin_scope() {
    let env = Env::new();
    let (idp, profile) = start_cognito("pool");
    env.write_profile(&profile);
    env.login();
    let r = env.run(&["status", "--check", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["provider_check"], "no_admin_scope");

    let oidc_env = Env::new();
    let oidc_idp = latchkey_testkit::start_idp(|_| {});
    let mut oidc = latchkey_testkit::oidc_profile(&oidc_idp);
    oidc.scopes.push("aws.cognito.signin.user.admin".into());
    oidc_env.write_profile(&oidc);
    oidc_env.login();
    let r = oidc_env.run(&["status", "--check", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["provider_check"], "not_supported");
    assert_eq!(idp.stats().get_user + oidc_idp.stats().get_user, 0);
}
