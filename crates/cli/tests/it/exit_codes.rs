#![cfg(unix)]
//! The exit codes scripts rely on: 2 is a usage error and nothing else (clap's and the CLI's
//! own), 12 is "not signed in", and SIGINT (Ctrl-C) exits 130, in `login` or any other command,
//! and leaves the saved session be.

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use latchkey_testkit::devidp::Fault;
use latchkey_testkit::port_is_free;

/// `--json` usage failures: exit 2 and kind `usage` on stderr.
fn json_usage_error(r: &Run) {
    assert_eq!(r.code, 2, "exit code; stderr: {}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stderr.trim())
        .unwrap_or_else(|e| panic!("stderr is JSON ({e}): {}", r.stderr));
    assert_eq!(v["error"]["kind"], "usage", "{v}");
    assert_eq!(v["error"]["exit_code"], 2, "{v}");
}

#[test]
fn a_usage_error_exits_2_whether_clap_or_the_cli_finds_it() {
    let env = Env::new();
    // clap's own: an unknown flag, a bad value, a missing subcommand, conflicting flags.
    for args in [
        &["status", "--no-such-flag"][..],
        &["completions", "tcsh"],
        &["login", "--param", "novalue"],
        &["login", "--signup", "--switch-user"],
        &[],
    ] {
        let r = env.run(args);
        assert_eq!(r.code, 2, "latchkey {args:?}: {}", r.stderr);
    }
    json_usage_error(&env.run(&["token", "--json", "--no-such-flag"]));
    // The CLI's own, found after parsing: a header that is not `Name: value`, a bad method.
    let (_idp, profile) = start_cognito("usage");
    env.write_profile(&profile);
    let api = "http://127.0.0.1:9/orders";
    assert_eq!(env.run(&["call", "-H", "nocolon", api]).code, 2);
    assert_eq!(env.run(&["call", "-X", "G T", api]).code, 2);
    json_usage_error(&env.run(&["call", "--json", "-H", "nocolon", api]));
}

#[test]
fn not_signed_in_exits_12() {
    let env = Env::new();
    let (_idp, profile) = start_cognito("nosession");
    env.write_profile(&profile);
    for args in [&["status"][..], &["token"], &["inspect"], &["userinfo"]] {
        let r = env.run(args);
        assert_eq!(r.code, 12, "latchkey {args:?}: {}", r.stderr);
    }
    let r = env.run(&["token", "--json"]);
    assert_eq!(r.code, 12, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "not_signed_in", "{v}");
    assert_eq!(v["error"]["exit_code"], 12, "{v}");
}

#[test]
fn sigint_during_login_exits_130_and_keeps_the_saved_session() {
    let env = Env::new();
    let (idp, profile) = start_cognito("interrupt");
    env.write_profile(&profile);
    env.login();
    let token_before = env.run(&["token"]).stdout;
    let before = idp.stats();

    let (child, _url) = env.start_login(&[]);
    let port = profile.ports[0];
    assert!(
        !port_is_free(port),
        "the callback port is bound while waiting"
    );
    interrupt(&child);
    let r = Run::from(child.wait_with_output().unwrap());
    assert_eq!(r.code, 130, "interrupted: {}", r.stderr);
    assert!(
        r.stderr.lines().last().unwrap().starts_with("latchkey: "),
        "one `latchkey:` line says what happened: {}",
        r.stderr
    );
    assert!(port_is_free(port), "the port is free again");

    // The saved session is the one from before: same token, nothing sent to the provider.
    let status = env.run(&["status"]);
    assert_eq!(status.code, 0, "still signed in: {}", status.stderr);
    assert_eq!(env.run(&["token"]).stdout, token_before);
    let after = idp.stats();
    assert_eq!(after.token_refresh_token, before.token_refresh_token);
    assert_eq!(after.revocations, before.revocations);
    assert_eq!(
        after.token_authorization_code,
        before.token_authorization_code
    );
}

/// SIGINT to `child`, which must still be running.
fn interrupt(child: &std::process::Child) {
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

#[test]
fn sigint_while_token_waits_for_a_refresh_exits_130_and_the_session_survives() {
    let env = Env::new();
    let (idp, profile) = start_cognito("slow-refresh");
    env.write_profile(&profile);
    // Tokens from a provider whose clock is behind are inside the refresh margin at once.
    idp.set_fault(Fault::ClockOffset(-3550));
    env.login();
    let before = idp.stats().token_refresh_token;
    idp.set_fault(Fault::TokenSlow(Duration::from_secs(300)));
    let child = env
        .cmd(&["token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The provider counts the refresh when it arrives, before it keeps it waiting.
    let deadline = Instant::now() + Duration::from_secs(60);
    while idp.stats().token_refresh_token == before {
        assert!(
            Instant::now() < deadline,
            "the refresh never reached the provider"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    interrupt(&child);
    let r = Run::from(child.wait_with_output().unwrap());
    assert_eq!(r.code, 130, "interrupted: {}", r.stderr);
    assert!(r.stdout.is_empty(), "no token printed: {}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);

    // The refresh token is still in the keychain and the refresh lock was let go.
    idp.clear_faults();
    idp.set_fault(Fault::ClockOffset(-3550));
    let again = env.run(&["token"]);
    assert_eq!(again.code, 0, "the session survived: {}", again.stderr);
    assert!(is_jwt(again.stdout.trim_end()));
}
