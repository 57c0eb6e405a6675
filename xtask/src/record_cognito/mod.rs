//! `cargo xtask record-cognito`: rewrites devidp's fixtures from a real user pool (opt-in, never
//! in CI), every answer through [`sanitise()`] so no token, id or account number is written.

mod sanitise;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::project_root;
use sanitise::{sanitise, Known};

/// The variables the recorder needs: the real pool it reads (nothing secret: it signs nobody in).
const VARIABLES: [&str; 4] = [
    "LATCHKEY_LIVE_COGNITO_REGION",
    "LATCHKEY_LIVE_COGNITO_POOL_ID",
    "LATCHKEY_LIVE_COGNITO_DOMAIN",
    "LATCHKEY_LIVE_COGNITO_CLIENT_ID",
];

pub fn record_cognito(_args: &[String]) -> Result<(), String> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        return Err("record-cognito talks to a real user pool and never runs in CI".into());
    }
    let known = known_pool().map_err(|missing| {
        format!(
            "record-cognito reads a real user pool (it needs the internet and is never run in CI); set {} (the pool's region, id, domain prefix and a public app client id)",
            missing.join(", ")
        )
    })?;
    let idp = format!(
        "https://cognito-idp.{}.amazonaws.com/{}",
        known.region, known.pool_id
    );
    let fixtures = project_root().join("crates/devidp/fixtures");
    for (file, url) in [
        (
            "discovery.json",
            format!("{idp}/.well-known/openid-configuration"),
        ),
        ("jwks.json", format!("{idp}/.well-known/jwks.json")),
    ] {
        let answer = fetch_json(&url)?;
        write_fixture(&fixtures.join(file), &sanitise(&answer, &known))?;
        println!(
            "recorded {file} from {}",
            sanitise::sanitise_text(&url, &known)
        );
    }
    println!("The token fixtures need a sign-in in a browser and stay as they are; compare them by hand (fixtures/README.md).");
    Ok(())
}

/// The pool named by [`VARIABLES`], or the names of those that are missing.
fn known_pool() -> Result<Known, Vec<&'static str>> {
    let values: Vec<Option<String>> = VARIABLES
        .iter()
        .map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .collect();
    let missing: Vec<&'static str> = VARIABLES
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut values = values.into_iter().map(Option::unwrap_or_default);
    let mut next = || values.next().unwrap_or_default();
    let (region, pool_id, domain, client_id) = (next(), next(), next(), next());
    Ok(Known {
        region,
        pool_id,
        domain,
        client_id,
    })
}

/// GET `url` with curl (xtask has no HTTP client of its own) and parse the JSON answer.
fn fetch_json(url: &str) -> Result<Value, String> {
    let out = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--fail",
            "--max-time",
            "20",
            url,
        ])
        .output()
        .map_err(|e| format!("could not run curl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "GET {url} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("GET {url}: not JSON ({e})"))
}

fn write_fixture(path: &Path, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())? + "\n";
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_variables_it_refuses_and_names_them() {
        for name in VARIABLES {
            std::env::remove_var(name);
        }
        let missing = known_pool().err().expect("refused");
        assert_eq!(missing, VARIABLES);
    }
}
