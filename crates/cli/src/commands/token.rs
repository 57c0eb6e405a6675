//! `latchkey token`: exactly one fresh token on stdout, nothing else.

use latchkey_core::config::TokenChoice;

use crate::cli::TokenArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit};
use crate::output::print_json;

pub async fn run(ctx: &Ctx, a: TokenArgs) -> CliResult<Exit> {
    let session = ctx.signed_in_session().await?;
    let tokens = session.tokens().await?;
    if let Some(warning) = &tokens.warning {
        eprintln!("latchkey: warning: {warning}");
    }
    let which = if a.access {
        TokenChoice::Access
    } else {
        TokenChoice::Id
    };
    // An ID token that expired and cannot be renewed is refused here, never printed.
    let token = session.token(which).await?;
    let token = token.expose();
    let expires_at = match which {
        TokenChoice::Id => tokens.id_expires_at,
        TokenChoice::Access => tokens.access_expires_at,
    };
    let kind = which.as_str();
    if a.json {
        print_json(&serde_json::json!({
            "token": token,
            "kind": kind,
            "expires_at": expires_at,
            "profile": session.profile().name,
        }))?;
    } else {
        println!("{token}");
    }
    Ok(Exit::Ok)
}
