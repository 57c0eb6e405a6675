#![cfg(target_os = "linux")]
//! Issue 24 item 4 through the real binaries and the sandbox's session bus: background callers
//! of a session that needs a sign-in get one desktop notification (recorded by the test kit's
//! notification server), no browser, and their tokens once the user clicks "Sign in".

use crate::agent::{
    browsers_opened, counting_browser, every_caller_got_the_same_token, RunningAgent,
};
use crate::common;

use std::process::{Child, Stdio};
use std::time::Duration;

use common::*;
use latchkey_testkit::devidp::{Fault, DEMO_PASSWORD, DEMO_USERNAME};
use latchkey_testkit::NotificationServer;
use serde_json::json;

const MONTH: Duration = Duration::from_secs(31 * 24 * 3600);

/// `env`'s profile `name` signed in with tokens due for a refresh, whose refresh token the
/// provider no longer takes (a month passed there): the next refresh earns `invalid_grant`.
fn expired_session(name: &str) -> (Env, latchkey_testkit::devidp::DevIdp) {
    let mut env = Env::without_agent();
    let (idp, profile) = start_cognito(name);
    env.write_profile(&profile);
    idp.set_fault(Fault::ClockOffset(-3550));
    env.login();
    idp.advance_clock(MONTH);
    // A new sign-in issues tokens valid now.
    idp.set_fault(Fault::ClockOffset(-(MONTH.as_secs() as i64)));
    let _ = std::fs::remove_file(env.url_file());
    counting_browser(&mut env);
    (env, idp)
}

/// Waits until `done`, failing (not hanging) with `what` after two minutes.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn waiters(agent: &RunningAgent, profile: &str) -> u64 {
    let status = agent
        .client()
        .ask(&json!({"type": "status", "profile": profile}));
    status["profiles"][0]["sign_in_waiters"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn fifty_background_callers_of_an_expired_session_get_one_notification_then_their_tokens() {
    let notifications = NotificationServer::start();
    let (env, idp) = expired_session("notified");
    let agent = RunningAgent::start(&env);
    let callers: Vec<Child> = (0..50)
        .map(|_| {
            env.cmd(&["token", "--wait-for-sign-in", "600"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("latchkey token starts")
        })
        .collect();
    let summary = "Sign-in needed for notified";
    let shown = notifications.wait_for(summary);
    // Every caller waits for the sign-in before the user acts.
    wait_until("all 50 callers wait for the sign-in", || {
        waiters(&agent, "notified") == 50
    });
    assert_eq!(notifications.titled(summary).len(), 1, "one notification");
    assert_eq!(shown.app_name, "Latchkey");
    assert!(shown.action_keys().contains(&"sign-in"), "{shown:?}");
    assert_eq!(browsers_opened(&env), 0, "no browser before the user acts");

    notifications.invoke_action(shown.id, "sign-in");
    wait_until("the click on the notification opens the browser", || {
        env.url_file().exists()
    });
    let url = url::Url::parse(&std::fs::read_to_string(env.url_file()).unwrap()).unwrap();
    assert_eq!(complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD), 200);

    every_caller_got_the_same_token(callers);
    assert_eq!(browsers_opened(&env), 1, "one browser, opened by the agent");
    assert_eq!(
        idp.stats().token_authorization_code,
        2,
        "the first sign-in and the one from the notification"
    );
    assert_eq!(
        notifications.titled(summary).len(),
        1,
        "still one notification"
    );
}

#[test]
fn a_caller_that_may_not_wait_exits_13_at_once_and_the_notification_is_shown_once() {
    let notifications = NotificationServer::start();
    let (env, _idp) = expired_session("nowait");
    let _agent = RunningAgent::start(&env);
    for _ in 0..3 {
        let run = env.run(&["token", "--json"]);
        assert_eq!(run.code, 13, "{}", run.stderr);
    }
    let summary = "Sign-in needed for nowait";
    notifications.wait_for(summary);
    assert_eq!(notifications.titled(summary).len(), 1);
    assert_eq!(browsers_opened(&env), 0);
}

#[test]
fn without_a_notification_server_a_background_caller_still_exits_13_and_the_agent_serves_on() {
    let _none = latchkey_testkit::NoNotificationServer::hold();
    let (env, _idp) = expired_session("unnotified");
    let agent = RunningAgent::start(&env);
    let run = env.run(&["token", "--json", "--wait-for-sign-in", "0"]);
    assert_eq!(run.code, 13, "{}", run.stderr);
    let again = env.run(&["token", "--json"]);
    assert_eq!(again.code, 13, "{}", again.stderr);
    let status = agent.status();
    assert_eq!(status["profiles"][0]["profile"], "unnotified");
    assert_eq!(browsers_opened(&env), 0);
}
