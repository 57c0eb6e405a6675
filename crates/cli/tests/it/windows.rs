//! Windows only: the real `latchkey.exe` signs in with `--no-browser` (the test plays the
//! browser over HTTP), keeps the session in Credential Manager, and status, token, logout.
//!
//! `cargo xtask cross` runs it under Wine against a devidp running natively on the Linux host;
//! on Windows itself a devidp in this process stands in for it. (cli.rs is Unix-only: its
//! browser hook is a shell script and it checks the Secret Service.)
#![cfg(windows)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::*;
use latchkey_core::config::Profile;
use latchkey_devidp::{ClientConfig, DevIdp, DevIdpConfig, DEMO_PASSWORD, DEMO_USERNAME};
use url::Url;

/// The provider: under `cargo xtask cross` a devidp on the Linux host, else one in this process.
fn provider() -> (Option<DevIdp>, Profile) {
    let host = (
        std::env::var("LATCHKEY_TEST_HOST_ISSUER"),
        std::env::var("LATCHKEY_TEST_HOST_CLIENT_ID"),
    );
    let (idp, issuer, client_id) = match host {
        (Ok(issuer), Ok(client_id)) => (None, issuer, client_id),
        _ => {
            let idp = DevIdp::start(DevIdpConfig {
                client: ClientConfig {
                    any_loopback_port: true,
                    ..Default::default()
                },
                ..Default::default()
            })
            .expect("devidp starts");
            let (issuer, client_id) = (idp.issuer(), idp.client_id());
            (Some(idp), issuer, client_id)
        }
    };
    let mut profile = Profile::oidc("win", Url::parse(&issuer).unwrap(), &client_id);
    profile.sign_in_timeout = Duration::from_secs(60);
    (idp, profile)
}

#[test]
fn login_with_no_browser_then_status_token_and_logout_with_credential_manager() {
    let env = Env::new();
    let (_idp, profile) = provider();
    env.write_profile(&profile);
    env.run(&["status"]).assert_error(12, "not signed in");

    let mut login = env
        .cmd(&["login", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("latchkey.exe starts");
    let mut stderr = BufReader::new(login.stderr.take().unwrap()).lines();
    let authorize = loop {
        let line = stderr
            .next()
            .expect("login printed the sign-in URL before exiting")
            .unwrap();
        if let Some(url) = line.trim().strip_prefix("http") {
            break Url::parse(&format!("http{url}")).expect("a URL on its own line");
        }
    };
    // Every parameter survived the trip through the Windows console.
    for name in [
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "nonce",
    ] {
        assert!(
            authorize.query_pairs().any(|(k, _)| k == name),
            "{name} missing from {authorize}"
        );
    }
    assert_eq!(
        complete_login(&authorize, DEMO_USERNAME, DEMO_PASSWORD),
        200,
        "the loopback listener's answer"
    );
    let rest: Vec<String> = stderr.map_while(Result::ok).collect();
    let status = login.wait().unwrap();
    assert!(status.success(), "login: {status}: {rest:?}");

    let st = env.run(&["status", "--json"]);
    assert_eq!(st.code, 0, "{}", st.stderr);
    let v = st.json();
    assert_eq!(v["signed_in"], true, "{v}");
    assert_eq!(v["email"], DEMO_USERNAME);
    assert_eq!(
        v["keychain"]["store_name"], "Windows Credential Manager",
        "{v}"
    );
    assert_eq!(v["keychain"]["persistent"], true, "{v}");

    let token = env.run(&["token"]);
    assert_eq!(token.code, 0, "{}", token.stderr);
    assert!(is_jwt(token.stdout.trim()), "{}", token.stdout);

    let out = env.run(&["logout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    env.run(&["status"]).assert_error(12, "not signed in");
}
