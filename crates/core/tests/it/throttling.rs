//! A provider that throttles (`TooManyRequestsException`, the devidp `token_throttled`
//! fault): a throttled refresh was not processed, so it is repeated with backoff (as the AWS
//! SDKs do), and the session survives when the throttling outlasts the attempts.

use std::sync::Arc;
use std::time::Duration;

use devidp::Fault;
use latchkey_core::{ErrorKind, OffsetClock, Session, SessionOptions, SessionState, SignInOptions};
use latchkey_testkit::devidp;
use latchkey_testkit::*;

/// The number of refresh requests a throttled refresh makes (core's REFRESH_ATTEMPTS).
const ATTEMPTS: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_throttled_refresh_is_repeated_and_the_session_survives_it() {
    let (idp, profile) = start_cognito(|_| {});
    let clock = Arc::new(OffsetClock::new(0));
    let s = Session::new(
        profile,
        SessionOptions {
            browser: Some(Arc::new(HttpBrowser::default())),
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    s.sign_in(SignInOptions::default()).await.unwrap();
    // Due for a refresh, still valid; the token endpoint throttles every request.
    clock.set_offset(3600 - 120);
    idp.set_fault(Fault::TokenThrottled);
    let tokens = s.tokens().await.expect("the still-valid tokens");
    assert!(tokens.warning.is_some(), "the failed refresh is reported");
    assert_eq!(idp.stats().token_refresh_token, ATTEMPTS);
    // Expired while throttled: a transient error, and the session is kept.
    clock.set_offset(3600 + 120);
    let err = s.tokens().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderUnreachable);
    assert_eq!(idp.stats().token_refresh_token, 2 * ATTEMPTS);
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
    // Once the provider answers again, the same refresh token still works.
    idp.clear_faults();
    idp.advance_clock(Duration::from_secs(3600 + 120));
    let tokens = s.tokens().await.expect("refreshed once throttling stops");
    assert!(tokens.warning.is_none());
    assert_eq!(idp.stats().token_refresh_token, 2 * ATTEMPTS + 1);
}
