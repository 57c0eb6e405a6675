//! An AWS SDK client whose credentials come from a Latchkey sign-in: the session's
//! [`AwsCredentialsProvider`] is the STS client's credentials provider, and STS says whose they are.
//!
//! ```sh
//! latchkey login --profile work       # once (or sign in in the app): the session is in the keychain
//! cargo run -p latchkey-core --example aws_sdk -- work [STS_ENDPOINT_URL]
//! ```
//!
//! The profile needs an `[aws]` table (its identity pool). Any other SDK client takes the
//! provider the same way; tests/aws_sdk.rs runs [`sts_client`] against moto.

use aws_sdk_sts::config::{BehaviorVersion, Region};
use latchkey_core::{AwsCredentialsProvider, Config, Session, SessionOptions};

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
        .credentials_provider(provider);
    if let Some(url) = endpoint_url {
        config = config.endpoint_url(url);
    }
    Ok(aws_sdk_sts::Client::from_conf(config.build()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let config = Config::load_default()?;
    let profile = match args.next() {
        Some(name) => config.profile(&name)?.clone(),
        None => config.default_profile()?.clone(),
    };
    let endpoint_url = args.next();
    let session = Session::new(profile, SessionOptions::default())?;
    session.restore().await?; // the keychain's session, refreshed when due
    let sts = sts_client(&session, endpoint_url.as_deref())?;
    let who = sts.get_caller_identity().send().await?;
    println!(
        "{} (account {})",
        who.arn().unwrap_or("unknown"),
        who.account().unwrap_or("unknown")
    );
    Ok(())
}
