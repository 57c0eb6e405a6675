//! `latchkey aws serve`: the AWS SDKs' container-credentials endpoint on 127.0.0.1 until
//! Ctrl-C; each request's credentials come from the agent when one runs, else from a session here.

use std::sync::Arc;

use latchkey_core::aws::{ContainerEndpoint, CredentialsSource};
use latchkey_core::{AwsCredentials, Session};

use crate::agent_link;
use crate::context::{for_session, Ctx};
use crate::failure::{CliResult, Exit, Failure};

pub async fn run(ctx: &Ctx) -> CliResult<Exit> {
    let profile = ctx.profile()?;
    profile.identity_pool()?; // no [aws] table: say so now, not at the first request
                              // Held for the whole run: its provider keeps the credentials between requests.
    let session = ctx.session(None)?;
    let source = credentials_source(Arc::new(Ctx::new(ctx.global.clone())), session);
    let endpoint = ContainerEndpoint::start(source).await.map_err(|e| {
        Failure::new(
            Exit::Other,
            format!("aws serve: cannot listen on 127.0.0.1 ({e}); check that loopback networking works."),
        )
    })?;
    println!(
        "export AWS_CONTAINER_CREDENTIALS_FULL_URI={}",
        endpoint.full_uri()
    );
    println!(
        "export AWS_CONTAINER_AUTHORIZATION_TOKEN={}",
        endpoint.authorization_token().expose()
    );
    eprintln!(
        "latchkey: serving the AWS credentials of profile `{}` to programs with the two variables above; Ctrl-C stops.",
        profile.name
    );
    // Ctrl-C is how it ends: exit 0, the port closes with the process.
    let _ = tokio::signal::ctrl_c().await;
    drop(endpoint);
    Ok(Exit::Ok)
}

/// Each request: the agent's credentials when it answers, else the held session's.
fn credentials_source(ctx: Arc<Ctx>, session: Session) -> CredentialsSource {
    Arc::new(move || {
        let ctx = Arc::clone(&ctx);
        let session = session.clone();
        Box::pin(async move {
            fresh_credentials(&ctx, &session).await.map_err(|failure| {
                // The SDK shows it too (the 500's body), but often not to the user.
                eprintln!("latchkey: aws serve: {}", failure.message);
                failure.message
            })
        })
    })
}

async fn fresh_credentials(ctx: &Ctx, session: &Session) -> CliResult<AwsCredentials> {
    let profile = &session.profile().name;
    let creds = match agent_link::aws_credentials(ctx, profile, 0).await? {
        Some(from_agent) => from_agent,
        None => session
            .aws_credentials()
            .await
            .map_err(for_session(session))?,
    };
    if let Some(warning) = &creds.warning {
        eprintln!("latchkey: warning: {warning}");
    }
    Ok(creds)
}
