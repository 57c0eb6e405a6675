//! `cargo run -p latchkey-aws-sdk-example -- [PROFILE] [STS_ENDPOINT_URL]`: who the signed-in
//! profile's AWS credentials belong to, asked through [`sts_client`]'s SDK client.

use latchkey_aws_sdk_example::sts_client;
use latchkey_core::{Config, Session, SessionOptions};

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
