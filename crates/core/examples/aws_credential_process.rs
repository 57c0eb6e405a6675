//! A `credential_process` for the AWS SDKs built on latchkey-core alone: trades an ID token for
//! identity-pool credentials and prints the `credential_process` JSON. The real-consumer tests
//! point botocore at it until `latchkey aws credentials` (the CLI) takes its place.
//!
//! Everything comes from the environment (the SDK runs it with its own environment):
//! `LATCHKEY_AWS_ID_TOKEN`, `LATCHKEY_AWS_USER_POOL` (`us-east-1_AbC123`: the login key is
//! derived from it the Cognito way), `LATCHKEY_AWS_IDENTITY_POOL_ID`, and optionally
//! `LATCHKEY_AWS_IDENTITY_ENDPOINT`, `LATCHKEY_AWS_ROLE_ARN`, `LATCHKEY_AWS_FLOW` (`classic`).
//! Failures go to stderr with exit code 1, which the SDKs report as a credential error.

use std::process::ExitCode;

use latchkey_core::aws::{self, IdentityFlow, IdentityPoolSettings};
use latchkey_core::config::ProfileKind;
use latchkey_core::SecretToken;
use url::Url;

fn setting(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

async fn run() -> Result<String, String> {
    let user_pool_id = setting("LATCHKEY_AWS_USER_POOL")?;
    let region = user_pool_id
        .split_once('_')
        .map(|(region, _)| region.to_owned())
        .ok_or("LATCHKEY_AWS_USER_POOL is not REGION_ID")?;
    let profile = ProfileKind::Cognito {
        domain: Url::parse(&format!("https://example.auth.{region}.amazoncognito.com")).unwrap(),
        issuer: None,
        region,
        user_pool_id,
    };
    let settings = IdentityPoolSettings {
        identity_pool_id: setting("LATCHKEY_AWS_IDENTITY_POOL_ID")?,
        identity_endpoint: match std::env::var("LATCHKEY_AWS_IDENTITY_ENDPOINT") {
            Ok(url) => {
                Some(Url::parse(&url).map_err(|e| format!("LATCHKEY_AWS_IDENTITY_ENDPOINT: {e}"))?)
            }
            Err(_) => None,
        },
        role_arn: std::env::var("LATCHKEY_AWS_ROLE_ARN").ok(),
        flow: match std::env::var("LATCHKEY_AWS_FLOW").as_deref() {
            Ok("classic") => IdentityFlow::Classic,
            _ => IdentityFlow::Enhanced,
        },
        ..Default::default()
    };
    let pool = settings.resolve(&profile).map_err(|e| e.to_string())?;
    let id_token = SecretToken::new(setting("LATCHKEY_AWS_ID_TOKEN")?);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let creds = aws::fetch_credentials(&http, &pool, &id_token, None, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    Ok(aws::credential_process_json(&creds))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("aws_credential_process: {message}");
            ExitCode::FAILURE
        }
    }
}
