//! `latchkey status`: signed in or not, who, expiries, keychain backend, profile.

use latchkey_core::SessionState;

use crate::cli::StatusArgs;
use crate::context::{not_signed_in, Ctx};
use crate::failure::{CliResult, Exit};
use crate::output::{print_json, when};

pub async fn run(ctx: &Ctx, a: StatusArgs) -> CliResult<Exit> {
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
