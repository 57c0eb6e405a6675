//! An AWS SDK client whose credentials come from a Latchkey sign-in: the session's
//! [`AwsCredentialsProvider`] is the STS client's credentials provider, and STS says whose they are.
//!
//! ```sh
//! latchkey login --profile work       # once (or sign in in the app): the session is in the keychain
//! cargo run -p latchkey-aws-sdk-example -- work [STS_ENDPOINT_URL]
//! ```
//!
//! The profile needs an `[aws]` table (its identity pool). Any other SDK client takes the
//! provider the same way; tests/sts.rs runs [`sts_client`] against moto.
//!
//! A program that does not link Latchkey gets the same credentials through the SDK's own
//! default chain ([`default_chain_config`]): with `latchkey aws serve`'s two variables set, its
//! container provider asks that endpoint (`-- --default-chain REGION [STS_ENDPOINT_URL]`).

use aws_config::SdkConfig;
use aws_sdk_sts::config::{BehaviorVersion, Region, SharedHttpClient};
use aws_smithy_http_client::tls;
use latchkey_core::{AwsCredentialsProvider, Session};

/// The SDK's own HTTPS client on rustls with ring, the crypto the rest of Latchkey uses (the
/// SDK's default would compile aws-lc as well, for nothing).
fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The SDK's configuration from its own default credentials chain (environment, config files,
/// then the container endpoint of `AWS_CONTAINER_CREDENTIALS_FULL_URI`, as ECS and `latchkey
/// aws serve` provide it), in `region`; `endpoint_url` points its clients at a stand-in for AWS.
pub async fn default_chain_config(region: &str, endpoint_url: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new(region.to_owned()));
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// An STS client signing with `session`'s AWS credentials (fetched, held and renewed by its
/// provider), in the identity pool's region; `endpoint_url` points it at a stand-in for STS.
pub fn sts_client(
    session: &Session,
    endpoint_url: Option<&str>,
) -> latchkey_core::Result<aws_sdk_sts::Client> {
    let region = session.profile().identity_pool()?.region;
    let provider: AwsCredentialsProvider = session.aws_credentials_provider();
    let mut config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(provider)
        .http_client(https_client());
    if let Some(url) = endpoint_url {
        config = config.endpoint_url(url);
    }
    Ok(aws_sdk_sts::Client::from_conf(config.build()))
}
