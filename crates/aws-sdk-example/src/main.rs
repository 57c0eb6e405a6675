//! `cargo run -p latchkey-aws-sdk-example -- [PROFILE] [STS_ENDPOINT_URL]`: who the signed-in
//! profile's AWS credentials belong to, asked through [`sts_client`]'s SDK client.
//! `-- --default-chain REGION [STS_ENDPOINT_URL]`: the same question with the SDK's own default
//! chain (`latchkey aws serve`'s endpoint), asked twice: the second time after the first
//! credentials have expired, so the SDK must renew them. Prints `ARN ACCESS_KEY_ID` per call.

use std::error::Error;

use aws_credential_types::provider::ProvideCredentials;
use latchkey_aws_sdk_example::{default_chain_config, sts_client};
use latchkey_core::{Config, Session, SessionOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--default-chain") {
        return default_chain(&args[1..]).await;
    }
    let mut args = args.into_iter();
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

async fn default_chain(args: &[String]) -> Result<(), Box<dyn Error>> {
    let region = args
        .first()
        .ok_or("usage: --default-chain REGION [STS_ENDPOINT_URL]")?;
    let config = default_chain_config(region, args.get(1).map(String::as_str)).await;
    let provider = config
        .credentials_provider()
        .ok_or("the default chain has no credentials provider")?;
    let sts = aws_sdk_sts::Client::new(&config);
    for call in 0..2 {
        let who = sts.get_caller_identity().send().await?;
        let creds = provider.provide_credentials().await?;
        println!(
            "{} {}",
            who.arn().unwrap_or("unknown"),
            creds.access_key_id()
        );
        if let (0, Some(expiry)) = (call, creds.expiry()) {
            let left = expiry
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default();
            tokio::time::sleep(left + std::time::Duration::from_secs(1)).await;
        }
    }
    Ok(())
}
