//! `latchkey status`: signed in or not, who, expiries, keychain backend, profile; with
//! `--all`, every profile's state in one table, read from the keychain alone.

use std::fmt;

use chrono::{DateTime, Utc};
use latchkey_core::{
    ProviderCheck, RefreshTokenInfo, Session, SessionEnd, SessionState, UserSummary,
};
use serde::Serialize;

use crate::agent_link;
use crate::cli::StatusArgs;
use crate::context::{not_signed_in, Ctx};
use crate::failure::{CliResult, Exit};
use crate::output::{print_json, print_report, printable, when, KeychainFacts};

pub async fn run(ctx: &Ctx, a: StatusArgs) -> CliResult<Exit> {
    if a.all {
        return all(ctx, a.json).await;
    }
    let session = ctx.session(None)?;
    let agent = agent_link::agent_view(ctx, &session.profile().name)
        .await
        .map(|(pid, state)| AgentSeen { pid, state });
    let mut state = session.restore().await?;
    let provider_check = match a.check {
        true => check_at_provider(&session, &state).await?,
        false => None,
    };
    if provider_check == Some(ProviderCheck::EndedAtProvider) {
        state = session.state();
    }
    let profile = session.profile();
    let about = ProfileFacts {
        client_id: &profile.client_id,
        issuer: profile.issuer(),
        profile: &profile.name,
    };
    match &state {
        SessionState::SignedIn {
            user,
            id_expires_at,
            access_expires_at,
            ..
        } => {
            let report = SignedInReport {
                about,
                agent,
                access_expires_at: *access_expires_at,
                email: user.email.as_deref(),
                id_expires_at: *id_expires_at,
                keychain: KeychainFacts::of(&session),
                provider_check,
                refresh_token: session.refresh_token_info(),
                signed_in: true,
                user,
            };
            print_report(&report, a.json)?;
            Ok(Exit::Ok)
        }
        other => {
            let report = SignedOutReport {
                about,
                agent,
                keychain: KeychainFacts::of(&session),
                reason: match other {
                    SessionState::SignedOut { reason } => reason.clone(),
                    SessionState::Error { message, .. } => Some(message.clone()),
                    _ => None,
                },
                ended: session.last_end(),
                provider_check,
                signed_in: false,
            };
            print_report(&report, a.json)?;
            let f = not_signed_in(&session, other);
            if !a.json {
                eprintln!("latchkey: {}", f.message);
            }
            Ok(Exit::NotSignedIn)
        }
    }
}

/// `--check`: the provider's word on a signed-in session (none for a signed-out one).
async fn check_at_provider(
    session: &Session,
    state: &SessionState,
) -> CliResult<Option<ProviderCheck>> {
    match state {
        SessionState::SignedIn { .. } => Ok(Some(session.check_at_provider().await?)),
        _ => Ok(None),
    }
}

/// What `--check` found, in words.
fn describe_check(check: ProviderCheck) -> &'static str {
    match check {
        ProviderCheck::Live => "the provider accepts the session",
        ProviderCheck::EndedAtProvider => {
            "the provider no longer accepts the session (signed out everywhere, or revoked)"
        }
        ProviderCheck::NotSupported => {
            "not asked: an OpenID Connect profile, so only the tokens' expiry counts"
        }
        ProviderCheck::NoAdminScope => {
            "not asked: the access token lacks the aws.cognito.signin.user.admin scope"
        }
    }
}

/// The profile a status is about (both reports carry it).
#[derive(Serialize)]
struct ProfileFacts<'a> {
    client_id: &'a str,
    issuer: String,
    profile: &'a str,
}

impl fmt::Display for ProfileFacts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  profile         {} ({})", self.profile, self.issuer)
    }
}

/// The agent that answered on its socket (`status` shows it only when one did), and the
/// state it holds the profile's session in (`signed_in`, `refreshing`, `signing_in`,
/// `signed_out`, `error`).
#[derive(Serialize)]
struct AgentSeen {
    pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
}

impl fmt::Display for AgentSeen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "  agent           answered, pid {}", self.pid)?;
        match &self.state {
            Some(state) => writeln!(f, ", holds it {}", state.replace('_', " ")),
            None => writeln!(f),
        }
    }
}

/// `latchkey status` when signed in: who, the tokens' expiries, the refresh token's facts
/// (never its value) and the keychain.
#[derive(Serialize)]
struct SignedInReport<'a> {
    #[serde(flatten)]
    about: ProfileFacts<'a>,
    /// The agent, when one answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<AgentSeen>,
    access_expires_at: DateTime<Utc>,
    email: Option<&'a str>,
    id_expires_at: DateTime<Utc>,
    keychain: KeychainFacts,
    /// The provider's word on the session (`--check` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_check: Option<ProviderCheck>,
    refresh_token: Option<RefreshTokenInfo>,
    signed_in: bool,
    user: &'a UserSummary,
}

impl fmt::Display for SignedInReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = self.user;
        writeln!(f, "Signed in as {}", shown(user))?;
        write!(f, "{}", self.about)?;
        if let Some(u) = &user.username {
            writeln!(f, "  username        {u}")?;
        }
        writeln!(f, "  subject         {}", user.sub)?;
        if !user.groups.is_empty() {
            writeln!(f, "  groups          {}", user.groups.join(", "))?;
        }
        writeln!(f, "  ID token        expires {}", when(self.id_expires_at))?;
        writeln!(
            f,
            "  access token    expires {}",
            when(self.access_expires_at)
        )?;
        match &self.refresh_token {
            Some(r) => writeln!(
                f,
                "  refresh token   {} bytes, {}, stored {}",
                r.length,
                r.kind,
                when(r.stored_since)
            )?,
            None => writeln!(
                f,
                "  refresh token   none (sign in again when the tokens expire)"
            )?,
        }
        write!(f, "{}", self.keychain)?;
        if let Some(check) = self.provider_check {
            writeln!(f, "  provider        {}", describe_check(check))?;
        }
        match &self.agent {
            Some(agent) => write!(f, "{agent}"),
            None => Ok(()),
        }
    }
}

/// `latchkey status` when not signed in: why, when the engine knows.
#[derive(Serialize)]
struct SignedOutReport<'a> {
    #[serde(flatten)]
    about: ProfileFacts<'a>,
    /// The agent, when one answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<AgentSeen>,
    keychain: KeychainFacts,
    reason: Option<String>,
    /// How the last session ended, when the provider (or a refused refresh answer) ended it.
    #[serde(skip_serializing_if = "Option::is_none")]
    ended: Option<SessionEnd>,
    /// The provider's word on the session (`--check` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_check: Option<ProviderCheck>,
    signed_in: bool,
}

impl fmt::Display for SignedOutReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Not signed in")?;
        write!(f, "{}", self.about)?;
        if let Some(r) = &self.reason {
            writeln!(f, "  reason          {r}")?;
        }
        write!(f, "{}", self.keychain)?;
        if let Some(check) = self.provider_check {
            writeln!(f, "  provider        {}", describe_check(check))?;
        }
        match &self.agent {
            Some(agent) => write!(f, "{agent}"),
            None => Ok(()),
        }
    }
}

/// The user for people: email, else username, else subject.
fn shown(user: &UserSummary) -> &str {
    (user.email.as_deref().or(user.username.as_deref())).unwrap_or(&user.sub)
}

/// A profile's line in `status --all`.
#[derive(Serialize)]
struct ProfileRow {
    profile: String,
    default: bool,
    kind: &'static str,
    signed_in: bool,
    /// Who is signed in: the same object as `status`'s `user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<UserSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// Every profile's row in `status --all`, the default marked `*`.
#[derive(Serialize)]
#[serde(transparent)]
struct ProfileTable(Vec<ProfileRow>);

impl fmt::Display for ProfileTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return writeln!(
                f,
                "No profiles. Add one with `latchkey profile add NAME --cognito …` or `--issuer URL`."
            );
        }
        writeln!(
            f,
            "  {:<16} {:<8} {:<40} ID TOKEN EXPIRES",
            "PROFILE", "KIND", "SESSION"
        )?;
        for row in &self.0 {
            let (session, expires) = match (&row.user, row.id_expires_at) {
                (Some(user), Some(at)) => {
                    (format!("signed in as {}", printable(shown(user))), when(at))
                }
                _ => ("not signed in".to_owned(), "-".to_owned()),
            };
            writeln!(
                f,
                "{} {:<16} {:<8} {session:<40} {expires}",
                if row.default { "*" } else { " " },
                row.profile,
                row.kind,
            )?;
        }
        Ok(())
    }
}

/// One row per profile: no refresh and no network, so a profile whose provider is down or
/// whose tokens expired still shows what the keychain holds.
async fn all(ctx: &Ctx, json: bool) -> CliResult<Exit> {
    let config = ctx.load_config()?;
    let default = config.default_profile().ok().map(|p| p.name.clone());
    let mut rows = Vec::new();
    for profile in config.profiles.values() {
        let session = ctx.session_for(profile.clone(), None)?;
        let state = session.restore_stored().await?;
        let mut row = ProfileRow {
            profile: profile.name.clone(),
            default: default.as_deref() == Some(profile.name.as_str()),
            kind: if profile.is_cognito() {
                "cognito"
            } else {
                "oidc"
            },
            signed_in: false,
            user: None,
            id_expires_at: None,
            reason: None,
        };
        match state {
            SessionState::SignedIn {
                user,
                id_expires_at,
                ..
            } => {
                row.signed_in = true;
                row.user = Some(user);
                row.id_expires_at = Some(id_expires_at);
            }
            SessionState::SignedOut { reason } => row.reason = reason,
            SessionState::Error { message, .. } => row.reason = Some(message),
            _ => {}
        }
        rows.push(row);
    }
    let table = ProfileTable(rows);
    match json {
        // The rows' keys in their declared order, as `status --all --json` has printed them.
        true => print_json(&table)?,
        false => print!("{table}"),
    }
    Ok(Exit::Ok)
}
