//! `latchkey userinfo`: what the provider's userinfo endpoint says about the signed-in user.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::cli::UserinfoArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit};
use crate::output::{print_report, printable, scalar};

pub async fn run(ctx: &Ctx, a: UserinfoArgs) -> CliResult<Exit> {
    let session = ctx.signed_in_session().await?;
    let report = UserinfoReport(session.userinfo().await?);
    print_report(&report, a.json)?;
    Ok(Exit::Ok)
}

/// `latchkey userinfo`'s report: the provider's answer as it came (JSON), or one claim a line
/// for people (values escaped: the answer is the provider's text).
#[derive(Serialize)]
#[serde(transparent)]
struct UserinfoReport(Value);

impl fmt::Display for UserinfoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(claims) = self.0.as_object() else {
            let text = serde_json::to_string_pretty(&self.0).map_err(|_| fmt::Error)?;
            return writeln!(f, "{text}");
        };
        let width = claims.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        for (name, value) in claims {
            writeln!(f, "{:width$}  {}", printable(name), scalar(value))?;
        }
        Ok(())
    }
}
