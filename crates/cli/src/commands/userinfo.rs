//! `latchkey userinfo`: what the provider's userinfo endpoint says about the signed-in user.

use crate::cli::UserinfoArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit};
use crate::output::{print_json, printable, scalar};

pub async fn run(ctx: &Ctx, a: UserinfoArgs) -> CliResult<Exit> {
    let session = ctx.signed_in_session().await?;
    let info = session.userinfo().await?;
    if a.json {
        print_json(&info)?;
        return Ok(Exit::Ok);
    }
    let Some(claims) = info.as_object() else {
        print_json(&info)?;
        return Ok(Exit::Ok);
    };
    let width = claims.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (name, value) in claims {
        println!("{:width$}  {}", printable(name), scalar(value));
    }
    Ok(Exit::Ok)
}
