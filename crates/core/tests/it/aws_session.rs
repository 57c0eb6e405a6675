//! `Session::aws_credentials()` over real HTTP against the development provider's identity
//! pool: sign-in → credentials → a SigV4 call answering 200; each refusal its own error with
//! nothing kept; the ID token renewed when the pool finds it expired; credentials still valid
//! handed out (with a warning) while the service throttles; a refused key fetched again once.

use std::sync::Arc;
use std::time::Duration;

use devidp::{DevIdp, Fault, DEMO_ADMIN_ROLE, DEMO_USER_ROLE, VIEWER_PASSWORD, VIEWER_USERNAME};
use latchkey_core::internals::{aws_account, get_bytes, load_aws_credentials};
use latchkey_core::SignOutScope;
use latchkey_core::{
    ApiRequest, AwsFailure, ErrorKind, OffsetClock, Profile, Scheme, Session, SessionOptions,
    SessionState, SignInOptions, Vault,
};
use latchkey_testkit::devidp;
use latchkey_testkit::*;
use url::Url;

/// A SigV4 call through the session to the demo IAM API.
fn signed(idp: &DevIdp, path: &str) -> ApiRequest {
    let mut req =
        ApiRequest::get(Url::parse(&format!("{}/demo-aws-api/{path}", idp.base_url())).unwrap());
    req.scheme = Some(Scheme::Sigv4);
    req
}

fn aws_expires_at(session: &Session) -> Option<chrono::DateTime<chrono::Utc>> {
    match session.state() {
        SessionState::SignedIn { aws_expires_at, .. } => aws_expires_at,
        other => panic!("not signed in: {other:?}"),
    }
}

/// A session with an adjustable clock, signed in over HTTP as the demo user.
async fn signed_in_with_clock(profile: Profile, vault: Vault) -> (Session, Arc<OffsetClock>) {
    let clock = Arc::new(OffsetClock::new(0));
    let session = Session::new(
        profile,
        SessionOptions {
            clock: clock.clone(),
            ..options_with(vault, Arc::new(HttpBrowser::default()))
        },
    )
    .unwrap();
    session
        .sign_in(SignInOptions::default())
        .await
        .expect("sign-in");
    (session, clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_credentials_and_a_sigv4_call_answer_200() {
    let (idp, profile) = start_cognito(|_| {});
    let profile = with_identity_pool(&idp, profile, None);
    let vault = Vault::memory();
    let session = signed_in(profile.clone(), vault.clone()).await;
    let mut states = session.subscribe();
    states.borrow_and_update();

    let creds = session.aws_credentials().await.expect("credentials");
    assert!(creds.access_key_id.starts_with("ASIA"));
    assert!(states.has_changed().unwrap(), "the fetch is a state event");
    assert_eq!(aws_expires_at(&session), Some(creds.expiration));
    let stored = load_aws_credentials(&vault, &profile)
        .unwrap()
        .expect("stored");
    assert_eq!(
        stored.access_key_id, creds.access_key_id,
        "stored before handed out"
    );

    let again = session.aws_credentials().await.unwrap();
    assert_eq!(
        again.access_key_id, creds.access_key_id,
        "held, not fetched again"
    );
    assert_eq!(idp.stats().identity_get_credentials, 1);

    let me = session.call(signed(&idp, "me")).await.unwrap();
    assert_eq!(me.status, 200, "{}", me.text());
    assert!(!me.retried_after_refresh);
    let body: serde_json::Value = serde_json::from_slice(&me.body).unwrap();
    assert_eq!(body["role_arn"], DEMO_ADMIN_ROLE);
    assert_eq!(body["cognito_identity_id"], creds.identity_id.as_str());
    assert_eq!(
        session.call(signed(&idp, "admin")).await.unwrap().status,
        200
    );

    let who = session.aws_identity().await.unwrap();
    assert_eq!(who.identity_id, creds.identity_id);
    assert_eq!(
        who.role_arn.as_deref(),
        Some(DEMO_ADMIN_ROLE),
        "named by STS"
    );
    assert_eq!(who.account.as_deref(), Some("123456789012"));
    assert_eq!(who.preferred_role.as_deref(), Some(DEMO_ADMIN_ROLE));
    assert!(
        who.roles.contains(&DEMO_USER_ROLE.to_owned()),
        "{:?}",
        who.roles
    );
    assert_eq!(who.warning, None);
    session.aws_identity().await.unwrap();
    assert_eq!(
        idp.stats().sts_requests,
        1,
        "STS is asked once per set of credentials"
    );

    let out = session.sign_out(SignOutScope::ThisDevice).await.unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(
        get_bytes(&vault, &aws_account(&profile)).unwrap().is_none(),
        "sign-out deletes the AWS credentials"
    );
    let err = session.aws_credentials().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotSignedIn);
}

/// The AWS provider's sign-out hook is attached when the session is made, not when it first
/// fetches: a session (another process, a later run) that never asked for credentials deletes
/// the ones another stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_never_fetched_deletes_the_saved_credentials_at_sign_out() {
    let (idp, profile) = start_cognito(|_| {});
    let profile = with_identity_pool(&idp, profile, None);
    let vault = Vault::memory();
    let fetcher = signed_in(profile.clone(), vault.clone()).await;
    fetcher.aws_credentials().await.expect("credentials");
    assert!(load_aws_credentials(&vault, &profile).unwrap().is_some());

    let later = Session::new(
        profile.clone(),
        options_with(vault.clone(), Arc::new(HttpBrowser::default())),
    )
    .unwrap();
    later.restore_stored().await.unwrap();
    let out = later.sign_out(SignOutScope::ThisDevice).await.unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(
        get_bytes(&vault, &aws_account(&profile)).unwrap().is_none(),
        "sign-out deletes the AWS credentials it never fetched"
    );
    assert_eq!(idp.stats().identity_get_credentials, 1, "and fetches none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_without_an_identity_pool_or_an_origin_outside_the_list_fetches_nothing() {
    let (idp, profile) = start_cognito(|_| {});
    let session = signed_in(profile.clone(), Vault::memory()).await;
    let err = session.aws_credentials().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("[profiles.cog.aws]"), "{err}");

    let session = signed_in(with_identity_pool(&idp, profile, None), Vault::memory()).await;
    let mut elsewhere = signed(&idp, "me");
    elsewhere.url = Url::parse(&format!(
        "{}/demo-aws-api/me",
        idp.identity_endpoint().unwrap().trim_end_matches('/')
    ))
    .unwrap();
    let err = session.call(elsewhere).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OriginNotAllowed);
    assert_eq!(idp.stats().identity_get_id, 0, "refused before any fetch");
}

/// The refusal `failure` is the session's error, and nothing is kept anywhere.
async fn refused_and_nothing_kept(
    session: &Session,
    vault: &Vault,
    profile: &Profile,
    failure: AwsFailure,
) {
    let err = session.aws_credentials().await.expect_err("refused");
    assert_eq!(err.aws_failure(), Some(failure), "{err}");
    assert!(
        get_bytes(vault, &aws_account(profile)).unwrap().is_none(),
        "nothing stored after {failure:?}"
    );
    assert_eq!(
        aws_expires_at(session),
        None,
        "nothing held after {failure:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_is_its_own_error_and_nothing_is_kept() {
    // a token from another user pool (another provider's keys)
    let (idp, profile) = start_cognito(|_| {});
    let (other, _) = start_cognito(|_| {});
    let foreign = with_identity_pool(&other, profile.clone(), None);
    let vault = Vault::memory();
    let session = signed_in(foreign.clone(), vault.clone()).await;
    refused_and_nothing_kept(&session, &vault, &foreign, AwsFailure::IdTokenRejected).await;

    // a pool that does not list this app client
    let profile = with_identity_pool(&idp, profile, None);
    let session = signed_in(profile.clone(), vault.clone()).await;
    idp.set_fault(Fault::IdentityUntrustedClient);
    refused_and_nothing_kept(&session, &vault, &profile, AwsFailure::ProviderNotTrusted).await;
    idp.clear_faults();

    // throttling with nothing held
    idp.set_fault(Fault::IdentityThrottled);
    refused_and_nothing_kept(&session, &vault, &profile, AwsFailure::Throttled).await;
    idp.clear_faults();

    // a role the user does not have
    let mut as_admin = with_identity_pool(&idp, profile.clone(), Some(DEMO_ADMIN_ROLE));
    as_admin.name = "viewer".into();
    let viewer = Session::new(
        as_admin.clone(),
        options_with(
            vault.clone(),
            Arc::new(UserBrowser(VIEWER_USERNAME, VIEWER_PASSWORD)),
        ),
    )
    .unwrap();
    viewer.sign_in(SignInOptions::default()).await.unwrap();
    refused_and_nothing_kept(&viewer, &vault, &as_admin, AwsFailure::RoleNotAllowed).await;
    let err = viewer.aws_credentials().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessDenied);
    assert!(
        err.message().contains(DEMO_USER_ROLE),
        "names the roles the user has: {err}"
    );
    assert_eq!(idp.stats().identity_credentials_issued, 0);
}

/// Signs in as one user over real HTTP.
struct UserBrowser(&'static str, &'static str);

impl latchkey_core::Browser for UserBrowser {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        let (url, username, password) = (url.clone(), self.0, self.1);
        tokio::runtime::Handle::current().spawn(async move {
            visit(&login_to_callback(&url, username, password).await).await;
        });
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_that_finds_the_id_token_expired_gets_a_renewed_one_once() {
    let (idp, mut profile) = start_cognito(|_| {});
    profile.clock_leeway = Duration::from_secs(600);
    let profile = with_identity_pool(&idp, profile, None);
    let (session, clock) = signed_in_with_clock(profile, Vault::memory()).await;
    // The provider's clock is past the ID token's expiry; ours leaves it 350 s (more than the
    // refresh margin): only the identity pool's refusal reveals it.
    idp.advance_clock(Duration::from_secs(3650));
    clock.set_offset(3250);
    let creds = session
        .aws_credentials()
        .await
        .expect("credentials after one refresh");
    assert!(creds.access_key_id.starts_with("ASIA"));
    let stats = idp.stats();
    assert_eq!(stats.token_refresh_token, 1, "refreshed once");
    assert_eq!(stats.identity_credentials_issued, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_the_provider_does_not_renew_is_id_token_expired() {
    let (idp, mut profile) = start_cognito(|_| {});
    profile.clock_leeway = Duration::from_secs(600);
    let profile = with_identity_pool(&idp, profile, None);
    let vault = Vault::memory();
    let (session, clock) = signed_in_with_clock(profile.clone(), vault.clone()).await;
    idp.set_fault(Fault::RefreshWithoutIdToken);
    idp.advance_clock(Duration::from_secs(3650));
    // Due for a refresh by the tokens' times, which a provider running ahead moves later.
    clock.set_offset(3300 + provider_clock_ahead());
    refused_and_nothing_kept(&session, &vault, &profile, AwsFailure::IdTokenExpired).await;
    assert_eq!(
        idp.stats().token_refresh_token,
        2,
        "the due refresh, then one forced by the refusal; no loop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_service_throttles_valid_credentials_come_with_a_warning() {
    let (idp, profile) = start_cognito(|_| {});
    let profile = with_identity_pool(&idp, profile, None);
    let (session, clock) = signed_in_with_clock(profile, Vault::memory()).await;
    let first = session.aws_credentials().await.unwrap();
    idp.set_fault(Fault::IdentityThrottled);
    // inside the renewal margin: due, but still valid
    idp.advance_clock(Duration::from_secs(3400));
    clock.set_offset(3400);
    let kept = session.aws_credentials().await.expect("the valid ones");
    assert_eq!(kept.access_key_id, first.access_key_id);
    let warning = kept.warning.expect("a warning");
    assert!(
        warning.contains("throttling") && warning.contains("stay valid"),
        "{warning}"
    );
    // once they expired, the throttling is the answer
    idp.advance_clock(Duration::from_secs(300));
    clock.set_offset(3700);
    let err = session.aws_credentials().await.unwrap_err();
    assert_eq!(err.aws_failure(), Some(AwsFailure::Throttled));
    idp.clear_faults();
    let fresh = session.aws_credentials().await.unwrap();
    assert_ne!(fresh.access_key_id, first.access_key_id);
    assert_eq!(fresh.identity_id, first.identity_id);
    assert_eq!(
        idp.stats().identity_get_id,
        1,
        "the kept identity id saved GetId"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_the_api_calls_expired_are_fetched_again_once_and_the_call_retried() {
    let (idp, profile) = start_cognito(|cfg| {
        cfg.identity_pool.as_mut().unwrap().credentials_ttl = Duration::from_secs(120);
    });
    let profile = with_identity_pool(&idp, profile, None);
    let session = signed_in(profile, Vault::memory()).await;
    let first = session.aws_credentials().await.unwrap();
    // AWS's clock is past their expiry; ours is not (they look usable here).
    idp.advance_clock(Duration::from_secs(130));
    let resp = session.call(signed(&idp, "me")).await.unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.retried_after_refresh);
    let now = session.aws_credentials().await.unwrap();
    assert_ne!(now.access_key_id, first.access_key_id);
    assert_eq!(idp.stats().identity_get_credentials, 2);

    // a refusal that new credentials cannot fix (the wrong role) is answered as it is
    let resp = session.call(signed(&idp, "nothing-here")).await.unwrap();
    assert_eq!(resp.status, 403);
    assert!(!resp.retried_after_refresh);
    assert_eq!(idp.stats().identity_get_credentials, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_sts_calls_expired_are_fetched_again_once_for_aws_identity() {
    let (idp, profile) = start_cognito(|cfg| {
        cfg.identity_pool.as_mut().unwrap().credentials_ttl = Duration::from_secs(120);
    });
    let session = signed_in(with_identity_pool(&idp, profile, None), Vault::memory()).await;
    let first = session.aws_credentials().await.unwrap();
    idp.advance_clock(Duration::from_secs(130));
    let who = session.aws_identity().await.unwrap();
    assert_ne!(who.access_key_id, first.access_key_id, "fetched again");
    assert_eq!(who.role_arn.as_deref(), Some(DEMO_ADMIN_ROLE));
    assert_eq!(who.warning, None);
    assert!(who.refresh_due_at < who.expires_at && who.issued_at < who.refresh_due_at);
    let stats = idp.stats();
    assert_eq!((stats.identity_get_credentials, stats.sts_requests), (2, 2));
}
