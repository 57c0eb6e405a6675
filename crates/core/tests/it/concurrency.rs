//! Single flight inside one process: one refresh for many `tokens()` callers, one AWS
//! credential fetch for many `aws_credentials()` callers.

use std::sync::Arc;

use devidp::Fault;
use latchkey_core::{OffsetClock, Session, SessionOptions, Vault};
use latchkey_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_tokens_calls_cause_exactly_one_refresh() {
    let (idp, profile) = start_cognito(|_| {});
    let vault = Vault::memory();
    let _first = signed_in(profile.clone(), vault.clone()).await;
    let clock = Arc::new(OffsetClock::new(0));
    let s = Session::new(
        profile,
        SessionOptions {
            vault,
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    s.restore().await.unwrap();
    clock.set_offset(3600 - 120); // less than the 5-minute margin left
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.tokens().await.map(|t| t.id_token.expose().to_owned()) })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap().expect("every caller gets tokens"));
    }
    assert_eq!(
        idp.stats().token_refresh_token,
        1,
        "exactly one refresh at the provider"
    );
    assert_eq!(ids.len(), 1, "every caller got the refreshed token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_aws_credentials_calls_cause_exactly_one_fetch() {
    let (idp, profile) = start_cognito(|_| {});
    let session = signed_in(with_identity_pool(&idp, profile, None), Vault::memory()).await;
    // A slow identity pool: every caller arrives while the first fetch is in flight.
    idp.set_fault(Fault::IdentitySlow(std::time::Duration::from_millis(300)));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { s.aws_credentials().await.map(|c| c.access_key_id) })
        })
        .collect();
    let mut keys = std::collections::HashSet::new();
    for t in tasks {
        keys.insert(t.await.unwrap().expect("every caller gets credentials"));
    }
    let stats = idp.stats();
    assert_eq!(stats.identity_get_id, 1);
    assert_eq!(stats.identity_get_credentials, 1, "exactly one fetch");
    assert_eq!(keys.len(), 1, "every caller got the same credentials");
}
