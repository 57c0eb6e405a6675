//! The AWS credentials provider in an AWS SDK client: src/lib.rs's STS client, built
//! with the session's provider, signs GetCallerIdentity at moto (pinned in
//! tests/interop/aws/requirements.txt; the Python packages live in tests/interop/aws/.venv),
//! and a provider without a session tells the SDK why, in the SDK's own terms.

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use latchkey_core::{
    ErrorKind, IdentityFlow, IdentityPoolSettings, Session, SessionOptions, Vault,
};
use latchkey_testkit::*;
use url::Url;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdk_client_built_with_the_provider_signs_with_the_sessions_credentials() {
    let moto = Moto::start();
    let pool_id = moto.create_identity_pool();
    // Signed in at devidp; the identity pool is moto's (it does not verify Logins tokens), so
    // moto knows the role the credentials are for.
    let (_idp, mut profile) = start_cognito(|_| {});
    profile.aws = Some(IdentityPoolSettings {
        identity_pool_id: pool_id,
        identity_endpoint: Some(Url::parse(&moto.endpoint).unwrap()),
        role_arn: Some(MOTO_ROLE.into()),
        flow: IdentityFlow::Classic,
        ..Default::default()
    });
    let session = signed_in(profile, Vault::memory()).await;

    let sts = latchkey_aws_sdk_example::sts_client(&session, Some(&moto.endpoint)).unwrap();
    let who = sts
        .get_caller_identity()
        .send()
        .await
        .expect("moto's GetCallerIdentity, signed by the SDK");
    assert!(
        who.arn()
            .unwrap_or_default()
            .starts_with("arn:aws:sts::123456789012:assumed-role/LatchkeyMotoRole/latchkey-"),
        "moto maps the access key the SDK signed with to the role Latchkey assumed: {:?}",
        who.arn()
    );
    let held = session.aws_credentials().await.unwrap();
    let provided = session
        .aws_credentials_provider()
        .provide_credentials()
        .await
        .unwrap();
    assert_eq!(
        provided.access_key_id(),
        held.access_key_id,
        "the SDK gets the credentials the session holds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_the_sdk_hears_not_loaded_with_latchkeys_error_as_the_source() {
    let (idp, profile) = start_cognito(|_| {});
    let profile = with_identity_pool(&idp, profile, None);
    let session = Session::new(profile, SessionOptions::memory()).unwrap();
    let err = session
        .aws_credentials_provider()
        .provide_credentials()
        .await
        .expect_err("not signed in");
    assert!(
        matches!(err, CredentialsError::CredentialsNotLoaded(_)),
        "a chain of providers may try its next one: {err:?}"
    );
    let source = std::error::Error::source(&err)
        .and_then(|e| e.downcast_ref::<latchkey_core::Error>())
        .expect("Latchkey's error is the source");
    assert_eq!(source.kind(), ErrorKind::NotSignedIn);
}
