#![cfg(unix)]
//! Issue 24's remaining agent tests through the real binaries: the agent SIGKILLed in the middle
//! of a refresh loses nothing and spends no refresh token twice; botocore's `credential_process`
//! and kubectl's exec plugin are answered by the agent.

use crate::agent::RunningAgent;
use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use latchkey_testkit::devidp::{Fault, Rotation, DEMO_USERNAME};
use latchkey_testkit::TlsFront;
use serde_json::json;

/// Tokens issued this long ago at every sign-in and refresh: due for a refresh at once.
const DUE: i64 = -3400;

#[test]
fn the_agent_killed_in_the_middle_of_a_refresh_loses_nothing_and_spends_no_refresh_token_twice() {
    // The provider rotates refresh tokens with no grace period: a refresh token it accepted
    // once never works again, so a second use would end the session.
    let env = Env::without_agent();
    let (idp, mut profile) = latchkey_testkit::start_cognito(|c| {
        c.client.rotation = Some(Rotation {
            grace_period: Duration::ZERO,
        })
    });
    profile.name = "work".into();
    env.write_profile(&profile);
    idp.set_fault(Fault::ClockOffset(DUE));
    env.login();
    let agent = RunningAgent::start(&env);
    // The provider holds the agent's refresh (until it stops: this one never completes).
    idp.set_fault(Fault::TokenSlow(Duration::from_secs(600)));
    let before = idp.stats().token_refresh_token;
    let caller = env
        .cmd(&["token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while idp.stats().token_refresh_token == before {
        std::thread::sleep(Duration::from_millis(20));
    }
    let held = agent.status();
    assert_eq!(held["profiles"][0]["state"], "refreshing", "{held}");
    // From now on the provider answers at once, with tokens that are not due.
    idp.clear_faults();
    let mut agent = agent;
    agent.child.kill().unwrap(); // SIGKILL
    agent.child.wait().unwrap();

    // The caller, cut off from the agent, goes on without it: it refreshes with the stored
    // refresh token (the held request never completed at the provider) and prints a token.
    let run = Run::from(caller.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(is_jwt(run.stdout.trim()));
    assert_eq!(
        idp.stats().token_refresh_token - before,
        2,
        "the held one, then the caller's"
    );

    // A new agent takes the killed one's place, and the stored session is the rotated one: a
    // refresh with it works (a refresh token used twice would have ended the session).
    let again = RunningAgent::start(&env);
    let run = env.run(&["token", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(again.status()["agent"]["keychain_reads"], 1);
    let forced = again.client().ask(&json!({
        "type": "token", "profile": "work", "token": "id", "min_seconds_left": 7200
    }));
    assert_eq!(forced["type"], "token", "{forced}");
    assert_eq!(idp.stats().token_refresh_token - before, 3);
    drop(again);
    let direct = Run::from(
        env.cmd(&["token"])
            .env("LATCHKEY_AGENT", "off")
            .output()
            .unwrap(),
    );
    assert_eq!(direct.code, 0, "nothing stored was lost: {}", direct.stderr);
}

#[test]
fn botocores_credential_process_is_answered_by_the_agent() {
    let env = Env::without_agent();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    env.login();
    let agent = RunningAgent::start(&env);
    let endpoint = idp.identity_endpoint().unwrap();
    let demo_url = format!("{}/demo-aws-api/me", idp.base_url());
    let answer = crate::aws_consumer::botocore(&env, &endpoint, Some(&demo_url));
    assert_eq!(answer["method"], "custom-process", "{answer}");
    assert_eq!(
        answer["demo_status"], 200,
        "devidp accepted the SigV4: {answer}"
    );
    let status = agent.status();
    assert_eq!(status["agent"]["keychain_reads"], 1, "the agent answered");
    assert_eq!(status["profiles"][0]["state"], "signed_in", "{status}");
    assert_eq!(idp.stats().identity_credentials_issued, 1);
}

#[test]
fn kubectls_exec_plugin_is_answered_by_the_agent() {
    let Some(kubectl) = crate::kubectl::kubectl_reading_v1() else {
        eprintln!("SKIPPED: no kubectl 1.22 or later on PATH");
        return;
    };
    let env = Env::without_agent();
    let (idp, profile) = start_cognito("kube");
    env.write_profile(&profile);
    env.login();
    let agent = RunningAgent::start(&env);
    let front = TlsFront::start(format!("127.0.0.1:{}", idp.port()).parse().unwrap());
    let config = crate::kubectl::kubeconfig(env.dir.path(), &front, "Never");
    for _ in 0..3 {
        let r = crate::kubectl::kubectl_get_me(&env, &kubectl, &config);
        assert_eq!(r.code, 0, "kubectl: {}", r.stderr);
        assert!(r.stdout.contains(DEMO_USERNAME), "{}", r.stdout);
    }
    let status = agent.status();
    assert_eq!(status["agent"]["keychain_reads"], 1, "the agent answered");
    assert_eq!(status["profiles"][0]["profile"], "kube", "{status}");

    // Signed out: the plugin (no terminal) gets exit 13 from the agent, kubectl fails, and no
    // sign-in starts behind the user's back.
    assert_eq!(env.run(&["logout"]).code, 0);
    let authorize = idp.stats().authorize;
    let r = crate::kubectl::kubectl_get_me(&env, &kubectl, &config);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("exit code 13"), "{}", r.stderr);
    assert_eq!(idp.stats().authorize, authorize, "no new sign-in");
}

#[test]
fn call_takes_its_token_from_the_agent_and_a_refused_token_is_renewed_there() {
    let (env, idp) = crate::agent::signed_in();
    let agent = RunningAgent::start(&env);
    let through_agent = env.run(&["call", "/demo-api/me"]);
    assert_eq!(through_agent.code, 0, "{}", through_agent.stderr);
    assert_eq!(
        agent.status()["agent"]["keychain_reads"],
        1,
        "the agent was asked"
    );
    let direct = Run::from(
        env.cmd(&["call", "/demo-api/me"])
            .env("LATCHKEY_AGENT", "off")
            .output()
            .unwrap(),
    );
    assert_eq!(through_agent.stdout, direct.stdout);
    assert_eq!(through_agent.stderr, direct.stderr);

    // New signing keys: the API refuses the agent's token; the agent refreshes once and the
    // call is made again with the new token.
    idp.rotate_keys();
    let refreshes = idp.stats().token_refresh_token;
    let retried = env.run(&["call", "--json", "/demo-api/me"]);
    assert_eq!(retried.code, 0, "{}", retried.stderr);
    let answer = retried.json();
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["retried_after_refresh"], true);
    assert_eq!(idp.stats().token_refresh_token - refreshes, 1);
    assert_eq!(agent.status()["agent"]["keychain_reads"], 1);
}
