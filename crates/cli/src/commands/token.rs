//! `latchkey token`: exactly one fresh token on stdout, nothing else — bare, as JSON, or as
//! the ExecCredential kubectl's exec credential plugin reads.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use latchkey_core::config::TokenChoice;
use latchkey_core::SessionState;
use serde::Serialize;

use crate::agent_link::{self, AgentToken};
use crate::cli::{TokenArgs, TokenFormat};
use crate::context::{not_signed_in, Ctx};
use crate::failure::{CliResult, Exit};
use crate::output::{print_json, print_report};

/// The ExecCredential version printed (kubectl ≥ 1.22 reads it; `v1beta1` is deprecated).
const EXEC_CREDENTIAL_API_VERSION: &str = "client.authentication.k8s.io/v1";

pub async fn run(ctx: &Ctx, a: TokenArgs) -> CliResult<Exit> {
    let format = match (a.format, a.json) {
        (Some(f), _) => f,
        (None, true) => TokenFormat::Json,
        (None, false) => TokenFormat::Plain,
    };
    let profile = ctx.profile()?;
    let which = match (a.id, a.access, format) {
        (true, _, _) => TokenChoice::Id,
        (_, true, _) => TokenChoice::Access,
        // kubectl's users call an API the way `latchkey call` does: the profile's choice.
        (_, _, TokenFormat::Kubectl) => profile.api_token,
        _ => TokenChoice::Id,
    };
    let handed = match agent_link::token(ctx, &profile.name, which, a.wait_for_sign_in).await? {
        Some(from_agent) => from_agent,
        None => {
            agent_link::direct_hand_out(&profile)?;
            direct(ctx, which).await?
        }
    };
    if let Some(warning) = &handed.warning {
        eprintln!("latchkey: warning: {warning}");
    }
    let token = handed.token.expose();
    let expires_at = handed.expires_at;
    let report = TokenReport {
        expires_at,
        kind: which.as_str(),
        profile: &profile.name,
        token,
    };
    match format {
        TokenFormat::Plain => print_report(&report, false)?,
        TokenFormat::Json => print_report(&report, true)?,
        // JSON only: kubectl reads it (its fields are declared in the order printed).
        TokenFormat::Kubectl => print_json(&ExecCredential::new(token, expires_at))?,
    }
    Ok(Exit::Ok)
}

/// The token without an agent: this process reads the keychain and refreshes.
async fn direct(ctx: &Ctx, which: TokenChoice) -> CliResult<AgentToken> {
    let session = ctx.session(None)?;
    // The keychain's session as it is, then one `tokens()`: a refresh that fails is reported
    // as itself (its kind and check), and never attempted a second time in this run.
    let state = session.restore_stored().await?;
    if !matches!(state, SessionState::SignedIn { .. }) {
        return Err(not_signed_in(&session, &state));
    }
    let tokens = session.tokens().await?;
    // An ID token that expired and cannot be renewed is refused here, never printed.
    let token = session.token(which).await?;
    Ok(AgentToken {
        token,
        expires_at: match which {
            TokenChoice::Id => tokens.id_expires_at,
            TokenChoice::Access => tokens.access_expires_at,
        },
        warning: tokens.warning,
    })
}

/// `latchkey token`'s report: the token alone for people (and `$(latchkey token)`), with its
/// kind, expiry and profile as JSON. No `Debug`: it holds the token.
#[derive(Serialize)]
struct TokenReport<'a> {
    expires_at: DateTime<Utc>,
    kind: &'static str,
    profile: &'a str,
    token: &'a str,
}

impl fmt::Display for TokenReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.token)
    }
}

/// An ExecCredential with only the `status` a plugin returns (kubectl sends the `spec`). No
/// `Debug`: it holds the token.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredential<'a> {
    api_version: &'static str,
    kind: &'static str,
    status: ExecCredentialStatus<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredentialStatus<'a> {
    expiration_timestamp: String,
    token: &'a str,
}

impl<'a> ExecCredential<'a> {
    fn new(token: &'a str, expires_at: DateTime<Utc>) -> Self {
        ExecCredential {
            api_version: EXEC_CREDENTIAL_API_VERSION,
            kind: "ExecCredential",
            status: ExecCredentialStatus {
                expiration_timestamp: expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                token,
            },
        }
    }
}
