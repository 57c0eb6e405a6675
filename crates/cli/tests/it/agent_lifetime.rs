#![cfg(target_os = "linux")]
//! Issue 24 item 6 through the real binaries: a profile's `[agent]` settings. `idle_forget_secs`
//! lets the agent drop the tokens it holds (the keychain keeps them); `confirm` makes every
//! hand-out wait for "Allow" in a desktop notification (the test kit's notification server
//! plays the user), and a refusal is never followed by a hand-out on the direct path.

use crate::agent::RunningAgent;
use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use latchkey_core::config::AgentSettings;
use latchkey_testkit::{NoNotificationServer, NotificationServer};

/// A signed-in profile `name` with `agent` settings.
fn signed_in(name: &str, agent: AgentSettings) -> (Env, latchkey_testkit::devidp::DevIdp) {
    let env = Env::without_agent();
    let (idp, mut profile) = start_cognito(name);
    profile.agent = agent;
    env.write_profile(&profile);
    env.login();
    (env, idp)
}

fn confirming() -> AgentSettings {
    AgentSettings {
        confirm: true,
        ..AgentSettings::default()
    }
}

/// The profiles the agent holds, from its status of all.
fn held(agent: &RunningAgent) -> Vec<String> {
    agent.status()["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profile"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_idle_profile_is_let_go_and_the_next_request_reads_the_keychain_again() {
    let (env, idp) = signed_in(
        "idle",
        AgentSettings {
            idle_forget: Some(Duration::from_secs(1)),
            ..AgentSettings::default()
        },
    );
    let agent = RunningAgent::start(&env);
    let first = env.run(&["token"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(held(&agent), ["idle"]);
    assert_eq!(agent.status()["agent"]["keychain_reads"], 1);

    let deadline = Instant::now() + Duration::from_secs(60);
    while !held(&agent).is_empty() {
        assert!(Instant::now() < deadline, "the idle profile is still held");
        std::thread::sleep(Duration::from_millis(100));
    }
    let refreshes = idp.stats().token_refresh_token;
    let again = env.run(&["token"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, first.stdout, "the saved tokens, read again");
    assert_eq!(agent.status()["agent"]["keychain_reads"], 2);
    assert_eq!(
        idp.stats().token_refresh_token,
        refreshes,
        "no refresh needed"
    );
}

#[test]
fn a_profile_without_idle_forget_stays_held() {
    let (env, _idp) = signed_in("kept", AgentSettings::default());
    let agent = RunningAgent::start(&env);
    assert_eq!(env.run(&["token"]).code, 0);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(held(&agent), ["kept"]);
    assert_eq!(env.run(&["token"]).code, 0);
    assert_eq!(agent.status()["agent"]["keychain_reads"], 1);
}

#[test]
fn a_confirmed_hand_out_waits_for_allow_and_names_the_caller() {
    let notifications = NotificationServer::start();
    let (env, _idp) = signed_in("asked", confirming());
    let _agent = RunningAgent::start(&env);
    let caller = env
        .cmd(&["token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let question = notifications.wait_for("Allow a hand-out of asked?");
    assert_eq!(question.action_keys(), ["allow", "deny"]);
    assert!(
        question
            .body
            .starts_with(&format!("latchkey (pid {}", caller.id())),
        "the caller is named: {}",
        question.body
    );
    notifications.invoke_action(question.id, "allow");
    let run = Run::from(caller.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.trim().is_empty(), "the token is printed");
}

#[test]
fn a_denied_hand_out_exits_14_with_no_token_and_no_direct_fallback() {
    let notifications = NotificationServer::start();
    let (env, _idp) = signed_in("denied", confirming());
    let agent = RunningAgent::start(&env);
    for (args, action) in [(&["token"][..], "deny"), (&["token", "--json"], "default")] {
        let caller = env
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let before = notifications.titled("Allow a hand-out of denied?").len();
        let deadline = Instant::now() + Duration::from_secs(60);
        let question = loop {
            let asked = notifications.titled("Allow a hand-out of denied?");
            if asked.len() > before {
                break asked.last().unwrap().clone();
            }
            assert!(Instant::now() < deadline, "no question for {args:?}");
            std::thread::sleep(Duration::from_millis(20));
        };
        // "default" is a click on the notification itself: not an Allow.
        notifications.invoke_action(question.id, action);
        let run = Run::from(caller.wait_with_output().unwrap());
        assert_eq!(run.code, 14, "{args:?}: {}", run.stderr);
        assert!(
            !run.stdout.contains("eyJ"),
            "no token printed: {}",
            run.stdout
        );
    }
    assert_eq!(agent.status()["agent"]["keychain_reads"], 1);
}

#[test]
fn with_no_notification_server_a_confirmed_hand_out_is_refused_at_once() {
    let _none = NoNotificationServer::hold();
    let (env, _idp) = signed_in("cannot-ask", confirming());
    let _agent = RunningAgent::start(&env);
    let token = env.run(&["token", "--json"]);
    assert_eq!(token.code, 14, "{}", token.stderr);
    assert!(token.stdout.is_empty(), "{}", token.stdout);
    let error: serde_json::Value = serde_json::from_str(token.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "hand_out_refused");
}

#[test]
fn without_an_agent_a_confirmed_profile_hands_out_nothing_but_a_plain_one_does() {
    let (env, _idp) = signed_in("no-agent", confirming());
    let run = Run::from(
        env.cmd(&["token"])
            .env("LATCHKEY_AGENT", "off")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 14, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing on stdout: {}", run.stdout);

    let (plain, _idp2) = signed_in("plain", AgentSettings::default());
    let ok = Run::from(
        plain
            .cmd(&["token"])
            .env("LATCHKEY_AGENT", "off")
            .output()
            .unwrap(),
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}
