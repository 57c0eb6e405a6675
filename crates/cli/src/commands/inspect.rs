//! `latchkey inspect`: decode and verify a JWT (the current ID token by default).

use std::io::Read;

use latchkey_core::config::TokenChoice;
use latchkey_core::inspect::{inspect_jwt, Inspection};
use latchkey_core::provider::Provider;
use latchkey_core::verify::{self, Check, IdTokenExpectations};

use crate::cli::InspectArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit, Failure};
use crate::output::print_json;

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

/// A pasted token: decoded offline, then verified against the profile's provider when one is
/// configured and reachable (signature, issuer, audience, times).
async fn pasted(ctx: &Ctx, token: &str) -> CliResult<(Inspection, String)> {
    let mut insp = inspect_jwt(token, None)?;
    let profile = match ctx.profile() {
        Ok(p) => p,
        Err(_) => {
            return Ok((
                insp,
                "pasted token (no profile configured: signature not verified)".into(),
            ))
        }
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(profile.http_timeout)
        .build()
        .map_err(|e| Failure::new(Exit::Other, format!("cannot build the HTTP client ({e}).")))?;
    let provider = match Provider::load(&profile, http).await {
        Ok(p) => p,
        Err(e) => {
            if let Some(c) = insp.checks.iter_mut().find(|c| c.name == "signature") {
                c.reason = format!("not verified: {}", e.message());
            }
            return Ok((
                insp,
                format!(
                    "pasted token (profile `{}` provider unavailable)",
                    profile.name
                ),
            ));
        }
    };
    let now = chrono::Utc::now().timestamp();
    let leeway = profile.clock_leeway.as_secs() as i64;
    let issuer = provider.metadata.issuer.clone();
    let checks: Vec<Check> = if insp.kind == "access" && profile.is_cognito() {
        verify::cognito_access_token_checks(
            &provider,
            token,
            &issuer,
            &profile.client_id,
            now,
            leeway,
        )
        .await
    } else if insp.kind == "access" {
        insp.checks.clone()
    } else {
        let x = IdTokenExpectations {
            issuer: &issuer,
            client_id: &profile.client_id,
            now,
            leeway,
            max_iat_age: i64::MAX / 4,
            nonce: None,
            access_token: None,
            cognito: profile.is_cognito() && insp.kind == "id",
            previous: None,
        };
        verify::id_token_checks(&provider, token, &x).await.0
    };
    insp.checks = checks;
    Ok((
        insp,
        format!("pasted token, verified against profile `{}`", profile.name),
    ))
}

fn print_human(insp: &Inspection, source: &str) {
    println!(
        "Token: {} ({source})",
        match insp.kind.as_str() {
            "id" => "ID token",
            "access" => "access token",
            _ => "JWT",
        }
    );
    println!();
    println!("Header");
    if let Some(obj) = insp.header.as_object() {
        for (k, v) in obj {
            println!("  {k:<18} {}", scalar(v));
        }
    }
    println!();
    println!("Claims");
    for c in &insp.claims {
        let mut line = format!("  {:<18} {}", c.name, scalar(&c.value));
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
            c.name,
            c.reason
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

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
