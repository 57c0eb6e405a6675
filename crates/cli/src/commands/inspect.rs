//! `latchkey inspect`: decode and verify a JWT (the current ID token by default).

use std::io::Read;

use latchkey_core::config::TokenChoice;
use latchkey_core::{inspect_jwt, CheckName, Inspection, TokenKind};
use latchkey_core::{Session, SessionOptions};

use crate::cli::InspectArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit, Failure};
use crate::output::{print_json, printable, scalar};

pub async fn run(ctx: &Ctx, a: InspectArgs) -> CliResult<Exit> {
    let (insp, source) = match a.token.as_deref() {
        None => {
            let session = ctx.signed_in_session().await?;
            let which = if a.access {
                TokenChoice::Access
            } else {
                TokenChoice::Id
            };
            let insp = session.inspect_current(which).await?;
            (
                insp,
                format!(
                    "current {} token of profile `{}`",
                    if a.access { "access" } else { "ID" },
                    session.profile().name
                ),
            )
        }
        Some(t) => {
            let token = if t == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).map_err(|e| {
                    Failure::new(
                        Exit::Other,
                        format!("cannot read the token from stdin ({e})."),
                    )
                })?;
                s
            } else {
                t.to_owned()
            };
            let token = token.trim().trim_start_matches("Bearer ").trim().to_owned();
            if token.is_empty() {
                return Err(Failure::new(
                    Exit::Usage,
                    "no token given: pass a JWT, or `-` and pipe it on stdin.",
                ));
            }
            pasted(ctx, &token).await?
        }
    };
    if a.json {
        print_json(&serde_json::json!({
            "source": source,
            "kind": insp.kind,
            "header": insp.header,
            "claims": insp.claims,
            "checks": insp.checks,
            "valid": insp.checks.iter().all(|c| c.passed),
        }))?;
    } else {
        print_human(&insp, &source);
    }
    Ok(Exit::Ok)
}

/// A pasted token: decoded, then verified against the profile's provider when one is
/// configured and reachable (signature, issuer, audience, times).
async fn pasted(ctx: &Ctx, token: &str) -> CliResult<(Inspection, String)> {
    let Ok(profile) = ctx.profile() else {
        return Ok((
            inspect_jwt(token, None)?,
            "pasted token (no profile configured: signature not verified)".into(),
        ));
    };
    let name = profile.name.clone();
    let session = Session::new(profile, SessionOptions::memory())?;
    let insp = session.inspect_token(token).await?;
    let verified = insp
        .checks
        .iter()
        .any(|c| c.name == CheckName::Signature && c.passed);
    let source = if verified {
        format!("pasted token, verified against profile `{name}`")
    } else {
        format!("pasted token (profile `{name}` provider unavailable)")
    };
    Ok((insp, source))
}

fn print_human(insp: &Inspection, source: &str) {
    println!(
        "Token: {} ({source})",
        match insp.kind {
            TokenKind::Id => "ID token",
            TokenKind::Access => "access token",
            TokenKind::Unknown => "JWT",
        }
    );
    println!();
    println!("Header");
    for (k, v) in &insp.header {
        println!("  {:<18} {}", printable(k), scalar(v));
    }
    println!();
    println!("Claims");
    for c in &insp.claims {
        let mut line = format!("  {:<18} {}", printable(&c.name), scalar(&c.value));
        if let Some(h) = &c.human {
            line.push_str(&format!("  = {h}"));
        }
        println!("{line}");
    }
    println!();
    println!("Checks");
    for c in &insp.checks {
        println!(
            "  {} {:<15} {}",
            if c.passed { "PASS" } else { "FAIL" },
            c.name.as_str(),
            printable(&c.reason)
        );
    }
    let failed = insp.checks.iter().filter(|c| !c.passed).count();
    println!();
    if failed == 0 {
        println!("All {} checks passed.", insp.checks.len());
    } else {
        println!("{failed} of {} checks failed.", insp.checks.len());
    }
}
