//! `latchkey token`: exactly one fresh token on stdout, nothing else.

use latchkey_core::config::TokenChoice;

use crate::cli::TokenArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit};
use crate::output::print_json;

pub async fn run(ctx: &Ctx, a: TokenArgs) -> CliResult<Exit> {
    let session = ctx.signed_in_session().await?;
    let tokens = session.tokens().await?;
    let which = if a.access {
        TokenChoice::Access
    } else {
        TokenChoice::Id
    };
    let (token, expires_at, kind) = match which {
        TokenChoice::Id => (tokens.id_token.expose(), tokens.id_expires_at, "id"),
        TokenChoice::Access => (
            tokens.access_token.expose(),
            tokens.access_expires_at,
            "access",
        ),
    };
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
