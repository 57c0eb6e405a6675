//! The AWS credentials provider in an AWS SDK client: src/lib.rs's STS client, built
//! with the session's provider, signs GetCallerIdentity at moto (pinned in
//! tests/interop/aws/requirements.txt; the Python packages live in tests/interop/aws/.venv),
//! and a provider without a session tells the SDK why, in the SDK's own terms. A program that
//! knows nothing of Latchkey (src/main.rs `--default-chain`, aws-config's default chain) gets
//! credentials through the container endpoint `latchkey aws serve` runs, across an expiry.

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use latchkey_core::aws::{ContainerEndpoint, CredentialsSource};
use latchkey_core::{
    ErrorKind, IdentityFlow, IdentityPoolSettings, Session, SessionOptions, Vault,
};
use latchkey_testkit::*;
use std::sync::Arc;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_configs_default_chain_renews_through_the_container_endpoint() {
    // Four-second credentials: the program holds the first ones until they expire, and
    // Latchkey renews them after one second (a quarter of their lifetime).
    let (idp, profile) = start_cognito(|cfg| {
        cfg.identity_pool.as_mut().unwrap().credentials_ttl = std::time::Duration::from_secs(4);
    });
    let profile = with_identity_pool(&idp, profile, None);
    let session = signed_in(profile, Vault::memory()).await;
    let source: CredentialsSource = Arc::new(move || {
        let session = session.clone();
        Box::pin(async move { session.aws_credentials().await.map_err(|e| e.to_string()) })
    });
    let endpoint = ContainerEndpoint::start(source).await.unwrap();
    // A directory that does not exist: no AWS config or credentials file for the SDK to find.
    let dir = std::env::temp_dir().join(unique("latchkey-sdk-example"));
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_latchkey-aws-sdk-example"))
        .args([
            "--default-chain",
            "us-east-1",
            &idp.identity_endpoint().unwrap(),
        ])
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.full_uri())
        .env(
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            endpoint.authorization_token().expose(),
        )
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the program: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let calls: Vec<(&str, &str)> = stdout
        .lines()
        .map(|line| line.split_once(' ').unwrap())
        .collect();
    assert_eq!(calls.len(), 2, "{stdout}");
    for (arn, _) in &calls {
        assert_eq!(
            *arn,
            "arn:aws:sts::123456789012:assumed-role/LatchkeyDemoAdmin/CognitoIdentityCredentials",
            "devidp's STS verified the SDK's signature"
        );
    }
    assert_ne!(calls[0].1, calls[1].1, "new credentials after the expiry");
}
