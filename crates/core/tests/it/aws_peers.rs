//! Interop for AWS credentials: the identity calls against an independent implementation of
//! Cognito Identity and STS (moto, pinned in tests/interop/aws/requirements.txt). The AWS SDK
//! reading `latchkey aws credentials` is the CLI's test (crates/cli/tests/it/aws_consumer.rs).
//!
//! Every test starts what it needs on free loopback ports and stops it. The Python packages
//! live in tests/interop/aws/.venv (`cargo xtask test` installs them).

use base64::Engine;
use latchkey_core::aws::{self, caller_identity, AwsError, IdentityFlow, IdentityPoolSettings};
use latchkey_core::config::ProfileKind;
use latchkey_core::SecretToken;
use latchkey_testkit::*;
use url::Url;

fn cognito(user_pool_id: &str) -> ProfileKind {
    ProfileKind::Cognito {
        region: "us-east-1".into(),
        user_pool_id: user_pool_id.into(),
        domain: Url::parse("https://example.auth.us-east-1.amazoncognito.com").unwrap(),
        issuer: None,
    }
}

/// moto does not verify `Logins` tokens (moto/cognitoidentity/models.py), so a well-formed but
/// unsigned token stands in for a user-pool ID token there.
fn unsigned_id_token() -> SecretToken {
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    SecretToken::new(format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(r#"{"alg":"RS256","kid":"moto"}"#),
        b64(
            r#"{"sub":"a1b2c3d4-0000-4000-8000-000000000001","aud":"motoclient","token_use":"id"}"#
        )
    ))
}

fn settings(
    pool_id: &str,
    endpoint: &str,
    flow: IdentityFlow,
    role: Option<&str>,
) -> IdentityPoolSettings {
    IdentityPoolSettings {
        identity_pool_id: pool_id.into(),
        identity_endpoint: Some(Url::parse(endpoint).unwrap()),
        role_arn: role.map(str::to_owned),
        flow,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_flows_get_credentials_from_moto() {
    let moto = Moto::start();
    let pool_id = moto.create_identity_pool();
    let token = unsigned_id_token();
    let kind = cognito("us-east-1_MotoPool");
    let now = chrono::Utc::now();

    let enhanced = settings(&pool_id, &moto.endpoint, IdentityFlow::Enhanced, None)
        .resolve(&kind)
        .unwrap();
    let creds = aws::fetch_credentials(&http(), &enhanced, &token, None, now)
        .await
        .expect("moto's GetId + GetCredentialsForIdentity");
    assert!(
        creds.identity_id.starts_with("us-east-1:"),
        "{}",
        creds.identity_id
    );
    assert!(!creds.access_key_id.is_empty() && !creds.secret_access_key.is_empty());
    // moto sends Expiration as a float with a fraction (1795996513.264438): read, not refused.
    assert!(creds.expiration > now, "{}", creds.expiration);

    let classic = settings(
        &pool_id,
        &moto.endpoint,
        IdentityFlow::Classic,
        Some(MOTO_ROLE),
    )
    .resolve(&kind)
    .unwrap();
    let creds = aws::fetch_credentials(&http(), &classic, &token, None, now)
        .await
        .expect("moto's GetOpenIdToken + STS AssumeRoleWithWebIdentity");
    assert!(
        creds.access_key_id.starts_with("ASIA"),
        "{}",
        creds.access_key_id
    );
    assert_eq!(
        creds.role_arn.as_deref(),
        Some(MOTO_ROLE),
        "from AssumedRoleUser.Arn"
    );
    let who = caller_identity(&http(), &classic, &creds)
        .await
        .expect("moto's GetCallerIdentity, signed by aws-sigv4");
    assert!(
        who.arn
            .starts_with("arn:aws:sts::123456789012:assumed-role/LatchkeyMotoRole/latchkey-"),
        "moto maps the access key to the role it assumed: {}",
        who.arn
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_breaks_is_reported_not_trusted() {
    let moto = Moto::start();
    // moto answers GetId for an unknown pool with an HTML 500 (a KeyError), not AWS's 404.
    let pool = settings(
        "us-east-1:00000000-0000-4000-8000-000000000000",
        &moto.endpoint,
        IdentityFlow::Enhanced,
        None,
    )
    .resolve(&cognito("us-east-1_MotoPool"))
    .unwrap();
    let err = aws::fetch_credentials(
        &http(),
        &pool,
        &unsigned_id_token(),
        None,
        chrono::Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AwsError::BadResponse { .. }), "{err:?}");
}
