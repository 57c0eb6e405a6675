//! Redeeming and revoking refresh tokens: one set of rules for `/oauth2/token`,
//! `/oauth2/revoke` and the JSON API's `InitiateAuth`, `GetTokensFromRefreshToken`, `RevokeToken`.

use crate::provider::{mask, Fault, Provider};
use crate::user_pool::store::{token_digest, RefreshGrant};
use crate::user_pool::tokens::{self, MintRequest, Minted};

/// New tokens from a refresh token, and the rotated refresh token when the client rotates.
pub(crate) struct Renewed {
    pub(crate) minted: Minted,
    pub(crate) rotated: Option<String>,
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unknown,
    Revoked,
    Expired,
    RotatedOut,
    OtherClient,
    NoUser,
}

impl Refusal {
    /// The message the JSON API's `NotAuthorizedException` carries ("Invalid Refresh Token."
    /// as captured in aws/aws-sdk-cpp#1789; "Refresh Token has been revoked" in
    /// aws/aws-sdk-net#1936); the token endpoint only logs it.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Refusal::Unknown | Refusal::RotatedOut | Refusal::OtherClient => {
                "Invalid Refresh Token."
            }
            Refusal::Revoked => "Refresh Token has been revoked",
            Refusal::Expired => "Refresh Token has expired",
            Refusal::NoUser => "User does not exist.",
        }
    }

    /// The reason in the log (more precise than the message the client gets).
    fn log_reason(self) -> &'static str {
        match self {
            Refusal::RotatedOut => "rotated out; its grace period is over",
            Refusal::OtherClient => "the refresh token was issued to another client",
            other => other.message(),
        }
    }
}

/// The grant behind `token`, if it may still be used by `client_id` now.
fn usable_grant(p: &Provider, token: &str, client_id: &str) -> Result<RefreshGrant, Refusal> {
    let now = p.now();
    let store = p.store();
    let grant = store
        .grants
        .get(&token_digest(token))
        .cloned()
        .ok_or(Refusal::Unknown)?;
    if store.revoked_families.contains(&grant.family) {
        return Err(Refusal::Revoked);
    }
    if now >= grant.expires_at {
        return Err(Refusal::Expired);
    }
    if grant.retired_until.is_some_and(|until| now >= until) {
        return Err(Refusal::RotatedOut);
    }
    if grant.client_id != client_id {
        return Err(Refusal::OtherClient);
    }
    Ok(grant)
}

/// Redeems `token` for new tokens (and a rotated refresh token under rotation), logging the
/// outcome with `via` (the endpoint or operation).
pub(crate) fn renew(
    p: &Provider,
    via: &str,
    token: &str,
    client_id: &str,
) -> Result<Renewed, Refusal> {
    let grant = usable_grant(p, token, client_id)
        .and_then(|g| match p.store().user(&g.username).cloned() {
            Some(user) => Ok((g, user)),
            None => Err(Refusal::NoUser),
        })
        .inspect_err(|refusal| {
            p.log(format!(
                "{via}: refresh token {} refused: {}",
                mask(token),
                refusal.log_reason()
            ))
        });
    let (grant, user) = grant?;
    let mut minted = tokens::mint(
        p,
        &MintRequest {
            user: &user,
            scopes: &grant.scopes,
            auth_time: grant.auth_time,
            amr: &grant.amr,
            nonce: None,
            family: &grant.family,
            is_refresh: true,
        },
    );
    if p.has_fault(&Fault::RefreshWithoutIdToken) {
        p.log("fault refresh_without_id_token: omitting id_token".to_string());
        minted.id_token = None;
    }
    let rotated = rotate(p, token, &grant);
    p.log(format!(
        "{via}: refresh {} for {}: access {}{}",
        mask(token),
        user.username,
        mask(&minted.access_token),
        rotated
            .as_deref()
            .map(|t| format!(", rotated to {}", mask(t)))
            .unwrap_or_default()
    ));
    Ok(Renewed { minted, rotated })
}

/// Under rotation: a new refresh token with the old one's remaining lifetime, the old one
/// retired after the grace period.
fn rotate(p: &Provider, token: &str, grant: &RefreshGrant) -> Option<String> {
    let rotation = p.settings.client.rotation?;
    let new_token = tokens::new_refresh_token();
    let grace_end = p.now() + rotation.grace_period.as_secs() as i64;
    {
        let mut store = p.store();
        if let Some(old) = store.grants.get_mut(&token_digest(token)) {
            old.retired_until = Some(old.retired_until.map_or(grace_end, |t| t.min(grace_end)));
        }
        store.grants.insert(
            token_digest(&new_token),
            RefreshGrant {
                retired_until: None,
                ..grant.clone()
            },
        );
    }
    p.persist();
    Some(new_token)
}

/// Revokes `token` and everything issued from it when it belongs to `client_id`; the
/// revoked family, or `None` for an unknown token (AWS answers success either way).
pub(crate) fn revoke(p: &Provider, via: &str, token: &str, client_id: &str) -> Option<String> {
    let family = {
        let mut store = p.store();
        let family = store
            .grants
            .get(&token_digest(token))
            .filter(|g| g.client_id == client_id)
            .map(|g| g.family.clone());
        if let Some(family) = &family {
            store.revoked_families.insert(family.clone());
        }
        family
    };
    match &family {
        Some(family) => {
            p.log(format!(
                "{via}: refresh token {} revoked (origin_jti {family})",
                mask(token)
            ));
            p.persist();
        }
        None => p.log(format!(
            "{via}: unknown token {} (answering 200 anyway)",
            mask(token)
        )),
    }
    family
}
