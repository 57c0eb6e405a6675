//! A second sign-in on the same callback port while the browser still holds a pooled
//! (keep-alive) connection to the first sign-in's loopback listener — what a user's browser
//! does when they sign in again within a few minutes.
//!
//! A regression test: the loopback listener once answered through tiny_http, which drops
//! `Connection: close`; the browser kept the connection, and after the listener closed, the
//! second callback sent on that pooled socket was never answered (the sign-in timed out).

use crate::support;

use std::time::Duration;

use latchkey_core::SignInOptions;
use latchkey_devidp::{DEMO_PASSWORD, DEMO_USERNAME};
use support::{run_scenario, E2e};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_sign_in_over_a_pooled_browser_connection_completes() {
    let e = E2e::start("keep-alive", |_| {}).await;
    run_scenario(e, |e| async move {
        let session = e.session();
        e.password_sign_in(&session, DEMO_USERNAME, DEMO_PASSWORD)
            .await?;
        e.step("second sign-in (silent, provider cookie) on the same port, same browser");
        let (task, url) = e.begin_sign_in(&session, SignInOptions::default()).await?;
        // The navigation itself may hang on the unanswered callback; the sign-in result decides.
        let _ = e.goto(url.as_str()).await;
        e.end_sign_in(task, Duration::from_secs(20))
            .await?
            .map_err(|err| format!("second sign-in failed: {:?}: {err}", err.kind()))?;
        Ok(())
    })
    .await;
}
