//! `latchkey status`: signed in or not, who, expiries, keychain backend, profile; with
//! `--all`, every profile's state in one table, read from the keychain alone.

use chrono::{DateTime, Utc};
use latchkey_core::SessionState;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::context::{not_signed_in, Ctx};
use crate::failure::{CliResult, Exit};
use crate::output::{print_json, printable, when};

pub async fn run(ctx: &Ctx, a: StatusArgs) -> CliResult<Exit> {
    if a.all {
        return all(ctx, a.json).await;
    }
    let session = ctx.session(None)?;
    let state = session.restore().await?;
    let profile = session.profile().clone();
    let storage = session.storage();
    let refresh = session.refresh_token_info();
    match &state {
        SessionState::SignedIn {
            user,
            id_expires_at,
            access_expires_at,
            storage,
            ..
        } => {
            if a.json {
                print_json(&serde_json::json!({
                    "signed_in": true,
                    "profile": profile.name,
                    "issuer": profile.issuer(),
                    "client_id": profile.client_id,
                    "user": user,
                    "email": user.email,
                    "id_expires_at": id_expires_at,
                    "access_expires_at": access_expires_at,
                    "refresh_token": refresh,
                    "keychain": storage,
                }))?;
            } else {
                let who = user
                    .email
                    .clone()
                    .or_else(|| user.username.clone())
                    .unwrap_or_else(|| user.sub.clone());
                println!("Signed in as {who}");
                println!("  profile         {} ({})", profile.name, profile.issuer());
                if let Some(u) = &user.username {
                    println!("  username        {u}");
                }
                println!("  subject         {}", user.sub);
                if !user.groups.is_empty() {
                    println!("  groups          {}", user.groups.join(", "));
                }
                println!("  ID token        expires {}", when(*id_expires_at));
                println!("  access token    expires {}", when(*access_expires_at));
                match &refresh {
                    Some(r) => println!(
                        "  refresh token   {} bytes, {}, stored {}",
                        r.length,
                        r.kind,
                        when(r.stored_since)
                    ),
                    None => {
                        println!("  refresh token   none (sign in again when the tokens expire)")
                    }
                }
                println!("  keychain        {}", storage.store_name);
            }
            Ok(Exit::Ok)
        }
        other => {
            let reason = match other {
                SessionState::SignedOut { reason } => reason.clone(),
                SessionState::Error { message, .. } => Some(message.clone()),
                _ => None,
            };
            if a.json {
                print_json(&serde_json::json!({
                    "signed_in": false,
                    "profile": profile.name,
                    "issuer": profile.issuer(),
                    "client_id": profile.client_id,
                    "reason": reason,
                    "keychain": storage,
                }))?;
            } else {
                println!("Not signed in");
                println!("  profile         {} ({})", profile.name, profile.issuer());
                if let Some(r) = reason {
                    println!("  reason          {r}");
                }
                println!("  keychain        {}", storage.store_name);
            }
            let f = not_signed_in(&session, other);
            if !a.json {
                eprintln!("latchkey: {}", f.message);
            }
            Ok(Exit::NotSignedIn)
        }
    }
}

/// A profile's line in `status --all`.
#[derive(Serialize)]
struct ProfileRow {
    profile: String,
    default: bool,
    kind: &'static str,
    signed_in: bool,
    /// Email, else username, else subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// One row per profile, the default marked `*`: no refresh and no network, so a profile
/// whose provider is down or whose tokens expired still shows what the keychain holds.
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
                row.user = Some(user.email.or(user.username).unwrap_or(user.sub));
                row.id_expires_at = Some(id_expires_at);
            }
            SessionState::SignedOut { reason } => row.reason = reason,
            SessionState::Error { message, .. } => row.reason = Some(message),
            _ => {}
        }
        rows.push(row);
    }
    if json {
        print_json(&rows)?;
        return Ok(Exit::Ok);
    }
    if rows.is_empty() {
        println!(
            "No profiles. Add one with `latchkey profile add NAME --cognito …` or `--issuer URL`."
        );
        return Ok(Exit::Ok);
    }
    println!(
        "  {:<16} {:<8} {:<40} ID TOKEN EXPIRES",
        "PROFILE", "KIND", "SESSION"
    );
    for row in &rows {
        let (session, expires) = match (&row.user, row.id_expires_at) {
            (Some(user), Some(at)) => (format!("signed in as {}", printable(user)), when(at)),
            _ => ("not signed in".to_owned(), "-".to_owned()),
        };
        println!(
            "{} {:<16} {:<8} {session:<40} {expires}",
            if row.default { "*" } else { " " },
            row.profile,
            row.kind,
        );
    }
    Ok(Exit::Ok)
}
