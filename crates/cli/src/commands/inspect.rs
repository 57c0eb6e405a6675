//! `latchkey inspect`: decode and verify a JWT (the current ID token by default), and judge
//! the user's expectations about it (`--expect`, the profile's `expect` list); exit 11 when a
//! check or an expectation fails, or the signature could not be checked.

use std::fmt;
use std::io::Read;

use latchkey_core::config::TokenChoice;
use latchkey_core::{inspect_jwt, Check, CheckName, ClaimRow, Inspection, TokenKind};
use latchkey_core::{ExpectationCheck, Session, SessionOptions};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::InspectArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit, Failure};
use crate::output::{print_report, printable, scalar};

pub async fn run(ctx: &Ctx, a: InspectArgs) -> CliResult<Exit> {
    let (mut insp, source) = match a.token.as_deref() {
        None => current(ctx, a.access).await?,
        Some(t) => pasted(ctx, &read_token(t)?).await?,
    };
    if let Ok(profile) = ctx.profile() {
        insp.judge_applicable(&profile.expect);
    }
    insp.judge(&a.expect);
    print_report(&InspectReport::new(&insp, &source), a.json)?;
    verdict(&insp)
}

/// The session's current ID (or access) token, verified against the profile's provider.
async fn current(ctx: &Ctx, access: bool) -> CliResult<(Inspection, String)> {
    let session = ctx.signed_in_session().await?;
    let (which, what) = match access {
        true => (TokenChoice::Access, "access"),
        false => (TokenChoice::Id, "ID"),
    };
    let insp = session.inspect_current(which).await?;
    let mut source = format!(
        "current {what} token of profile `{}`",
        session.profile().name
    );
    if let Some(why) = &insp.unverified_because {
        source.push_str(&format!(" (not verified: {})", why.trim_end_matches('.')));
    }
    Ok((insp, source))
}

/// The token argument, or stdin for `-`; without a `Bearer ` prefix and surrounding space.
fn read_token(arg: &str) -> CliResult<String> {
    let token = if arg == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            Failure::new(
                Exit::Other,
                format!("cannot read the token from stdin ({e})."),
            )
        })?;
        s
    } else {
        arg.to_owned()
    };
    let token = token.trim().trim_start_matches("Bearer ").trim().to_owned();
    if token.is_empty() {
        return Err(Failure::new(
            Exit::Usage,
            "no token given: pass a JWT, or `-` and pipe it on stdin.",
        ));
    }
    Ok(token)
}

/// A pasted token: decoded, then verified against the profile's provider when one is
/// configured and reachable (signature, issuer, audience, times).
async fn pasted(ctx: &Ctx, token: &str) -> CliResult<(Inspection, String)> {
    let Ok(profile) = ctx.profile() else {
        let mut insp = inspect_jwt(token, None)?;
        insp.unverified_because = Some(NO_PROFILE.into());
        return Ok((
            insp,
            "pasted token (no profile configured: signature not verified)".into(),
        ));
    };
    let name = profile.name.clone();
    let session = Session::new(profile, SessionOptions::memory())?;
    let insp = session.inspect_token(token).await?;
    let source = pasted_source(&name, &insp);
    Ok((insp, source))
}

/// Why a pasted token's signature was not checked when no profile is configured.
const NO_PROFILE: &str = "no profile is configured, so there are no provider keys to check it with (add one with `latchkey profile add`)";

/// What became of a pasted token's signature at profile `name`'s provider, in words: verified,
/// not matching, not reached (which check failed before it), or not checkable (and why).
fn pasted_source(name: &str, insp: &Inspection) -> String {
    if let Some(why) = &insp.unverified_because {
        return format!(
            "pasted token, not verified against profile `{name}`: {}",
            why.trim_end_matches('.')
        );
    }
    let signature = insp.checks.iter().find(|c| c.name == CheckName::Signature);
    match signature {
        Some(s) if s.passed && insp.checks.iter().all(|c| c.passed) => {
            format!("pasted token, verified against profile `{name}`")
        }
        Some(s) if s.passed => format!("pasted token, signature verified against profile `{name}`"),
        Some(_) => format!("pasted token, checked against profile `{name}`: the signature does not match its keys"),
        None => match insp.checks.iter().find(|c| !c.passed) {
            Some(first) => format!(
                "pasted token, checked against profile `{name}`: signature not checked, as the `{}` check failed",
                first.name.as_str()
            ),
            None => format!("pasted token, checked against profile `{name}`: signature not checked"),
        },
    }
}

/// Exit 11 when the token failed any verification check (an unsigned or forged token, one
/// whose signature could not be checked) or missed an expectation: scripts gate on it
/// (`latchkey inspect "$T" && deploy`).
fn verdict(insp: &Inspection) -> CliResult<Exit> {
    let failed: Vec<&Check> = insp.checks.iter().filter(|c| !c.passed).collect();
    let expected = insp.expectations.len();
    let missed = insp.expectations.iter().filter(|e| !e.passed).count();
    let Some(first) = failed.first() else {
        return match missed {
            0 => Ok(Exit::Ok),
            n => Err(Failure::new(
                Exit::ExpectationFailed,
                format!("the token does not meet {n} of {expected} expectation(s)."),
            )),
        };
    };
    let n = failed.len();
    if missed > 0 {
        return Err(Failure::new(
            Exit::ExpectationFailed,
            format!("the token does not meet {missed} of {expected} expectation(s) and failed {n} verification check(s)."),
        ));
    }
    let mut message = match expected {
        0 => format!(
            "the token failed {n} of {} verification check(s) ({}); do not trust it.",
            insp.checks.len(),
            failed
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => {
            format!("the token failed {n} verification check(s), so its expectations are not met.")
        }
    };
    if let Some(why) = &insp.unverified_because {
        let why = why.trim_end_matches('.');
        message.push_str(&format!(" Its signature could not be checked: {why}."));
    }
    Err(Failure::check_failed(
        Exit::ExpectationFailed,
        first.name,
        message,
    ))
}

/// `latchkey inspect`'s report: the decoded token, every check and expectation, the verdict.
#[derive(Serialize)]
struct InspectReport<'a> {
    checks: &'a [Check],
    claims: &'a [ClaimRow],
    expectations: &'a [ExpectationCheck],
    header: &'a Map<String, Value>,
    kind: TokenKind,
    /// Every check and every expectation passed.
    passed: bool,
    /// Where the token came from and what became of its signature.
    source: &'a str,
    /// Every verification check passed.
    valid: bool,
}

impl<'a> InspectReport<'a> {
    fn new(insp: &'a Inspection, source: &'a str) -> Self {
        InspectReport {
            checks: &insp.checks,
            claims: &insp.claims,
            expectations: &insp.expectations,
            header: &insp.header,
            kind: insp.kind,
            passed: insp.passed(),
            source,
            valid: insp.checks.iter().all(|c| c.passed),
        }
    }
}

/// The token for people: header, claims with readable times, checks, expectations, verdict.
/// Claim values are untrusted: control characters are escaped.
impl fmt::Display for InspectReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            TokenKind::Id => "ID token",
            TokenKind::Access => "access token",
            TokenKind::Unknown => "JWT",
        };
        writeln!(f, "Token: {kind} ({})", self.source)?;
        writeln!(f)?;
        writeln!(f, "Header")?;
        for (k, v) in self.header {
            writeln!(f, "  {:<18} {}", printable(k), scalar(v))?;
        }
        writeln!(f)?;
        writeln!(f, "Claims")?;
        for c in self.claims {
            write!(f, "  {:<18} {}", printable(&c.name), scalar(&c.value))?;
            match &c.human {
                Some(h) => writeln!(f, "  = {h}")?,
                None => writeln!(f)?,
            }
        }
        writeln!(f)?;
        writeln!(f, "Checks")?;
        for c in self.checks {
            let verdict = if c.passed { "PASS" } else { "FAIL" };
            let name = c.name.as_str();
            writeln!(f, "  {verdict} {name:<15} {}", printable(&c.reason))?;
        }
        self.fmt_expectations(f)?;
        self.fmt_summary(f)
    }
}

impl InspectReport<'_> {
    fn fmt_expectations(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.expectations.is_empty() {
            return Ok(());
        }
        writeln!(f)?;
        writeln!(f, "Expectations")?;
        for e in self.expectations {
            writeln!(
                f,
                "  {} {:<15} {}",
                if e.passed { "PASS" } else { "FAIL" },
                printable(&e.expectation.to_string()),
                printable(&e.reason)
            )?;
        }
        Ok(())
    }

    fn fmt_summary(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        writeln!(f)?;
        match failed {
            0 => writeln!(f, "All {} checks passed.", self.checks.len())?,
            n => writeln!(f, "{n} of {} checks failed.", self.checks.len())?,
        }
        if !self.expectations.is_empty() {
            let met = self.expectations.iter().filter(|e| e.passed).count();
            writeln!(f, "{met} of {} expectations met.", self.expectations.len())?;
        }
        Ok(())
    }
}
