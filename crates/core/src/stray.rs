//! Stray sessions: Latchkey's keychain items that no profile reaches any more (its issuer or
//! client id was edited, or it was removed), listed without a secret and removed, revoked first.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{get_json, DISCOVERY_LIMIT};
use crate::provider::{discovery_url, validate_endpoint, Provider, ProviderMetadata};
use crate::secret::RefreshToken;
use crate::token_endpoint;
use crate::vault::{aws_account, lock_path, ProfileLock, StoredSession, Vault};

/// How long a revocation (and the discovery that finds its endpoint) may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// What a profile's AWS credentials' account adds to its session's (see `vault::aws_account`).
const AWS_SUFFIX: &str = ":aws";

/// One keychain account that no profile reaches, with everything stored under it. Names no
/// secret: the account is `profile name|issuer|client id`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StraySession {
    /// The session's keychain account.
    pub account: String,
    /// The profile that stored it, as it was named then.
    pub profile_name: String,
    /// The issuer URL the session was signed in at (from the account name).
    pub issuer: String,
    /// The OAuth client id the session was issued to (from the account name).
    pub client_id: String,
    /// A session is stored (its refresh token is what removing it revokes).
    pub session: bool,
    /// The identity pool's AWS credentials are stored next to it.
    pub aws_credentials: bool,
    /// Keychain items in all (a large session's chunks and crash leftovers count).
    pub items: usize,
    /// The profiles file still has a profile of this name, in a form that does not validate:
    /// the items are kept for it until it is fixed or removed.
    pub invalid_profile: bool,
    #[serde(skip)]
    item_names: Vec<String>,
}

impl StraySession {
    /// What is stored, in words ("a session and AWS credentials").
    pub fn contents(&self) -> String {
        match (self.session, self.aws_credentials) {
            (true, true) => "a session and AWS credentials".into(),
            (true, false) => "a session".into(),
            (false, true) => "AWS credentials".into(),
            (false, false) => "pieces of a session".into(),
        }
    }
}

/// Why stray sessions cannot be listed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StrayError {
    /// The keychain has no search (some stores only read items whose name they are given).
    #[error("{store} cannot list its items, so Latchkey cannot find sessions that no profile uses any more. To remove them by hand, delete the items of service `{service}` that belong to no profile in the keychain's own manager.")]
    CannotList {
        /// The keychain's name for people ("macOS Keychain", …).
        store: String,
        /// The keychain service Latchkey's items are stored under (`latchkey` by default).
        service: String,
    },
    /// The keychain is unavailable or refused the search.
    #[error("{0}")]
    Keychain(Error),
}

impl From<StrayError> for Error {
    fn from(e: StrayError) -> Error {
        match e {
            StrayError::Keychain(e) => e,
            other => Error::new(ErrorKind::Keychain, other.to_string()),
        }
    }
}

/// Where a stray's revocation endpoint came from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum EndpointSource {
    /// Sign-in or refresh stored it with the session.
    StoredWithSession,
    /// A profile with the same issuer and client id.
    Profile {
        /// The name of that profile in the profiles file.
        name: String,
    },
    /// The issuer's discovery document.
    Discovery,
}

/// Why a stray's refresh token was not revoked.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NotRevokedBecause {
    /// Neither the session, a profile nor discovery names a revocation endpoint.
    UnknownEndpoint,
    /// The provider refused the revocation or could not be reached.
    ProviderFailed,
    /// The stored session cannot be read, so its refresh token is not known.
    UnreadableSession,
}

/// What happened to a stray's refresh token.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Revocation {
    /// The provider revoked it (and what was issued from it).
    Revoked {
        /// Where the revocation endpoint used came from.
        endpoint: EndpointSource,
    },
    /// It was not revoked: it stays valid at the provider until it expires.
    NotRevoked {
        /// Why, for programs: `unknown_endpoint`, `provider_failed` or `unreadable_session`.
        because: NotRevokedBecause,
        /// A sentence for people on what failed (the provider's HTTP status, no answer, no
        /// known endpoint, an unreadable session) and that the token stays valid until it expires.
        reason: String,
    },
    /// There was no refresh token to revoke (AWS credentials or pieces only).
    NothingToRevoke,
}

/// What removing one stray did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StrayOutcome {
    /// Every item deleted, after the revocation.
    Removed {
        /// What happened to its refresh token before the items were deleted.
        revocation: Revocation,
    },
    /// Left alone: a profile reaches it (or will, once fixed).
    Kept {
        /// A sentence for people: which profile uses it, that its profile is invalid, or why
        /// no HTTP client could be made.
        reason: String,
    },
    /// The keychain refused to delete some item (`error`), after the revocation.
    NotRemoved {
        /// What happened to its refresh token before the deletion was tried.
        revocation: Revocation,
        /// The keychain's first error, for people (every item was tried); some items are left.
        error: String,
    },
}

/// One stray and what removing it did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StrayRemoval {
    /// The stray as [`find_stray_sessions`] listed it.
    pub stray: StraySession,
    /// Whether it was removed, kept or not removed, and what happened to its refresh token.
    pub outcome: StrayOutcome,
}

impl StrayRemoval {
    /// One sentence for people: what was revoked and deleted, and what was not and why.
    pub fn describe(&self) -> String {
        let items = match self.stray.items {
            1 => "1 keychain item".to_owned(),
            n => format!("{n} keychain items"),
        };
        match &self.outcome {
            StrayOutcome::Kept { reason } => format!("kept: {reason}"),
            StrayOutcome::Removed { revocation } => {
                format!("{}; deleted ({items})", describe_revocation(revocation))
            }
            StrayOutcome::NotRemoved { revocation, error } => {
                format!("{}; NOT deleted: {error}", describe_revocation(revocation))
            }
        }
    }
}

fn describe_revocation(revocation: &Revocation) -> String {
    match revocation {
        Revocation::Revoked { endpoint } => {
            let from = match endpoint {
                EndpointSource::StoredWithSession => "the endpoint stored with the session".into(),
                EndpointSource::Profile { name } => format!("the endpoint of profile `{name}`"),
                EndpointSource::Discovery => "the endpoint the issuer's discovery names".into(),
            };
            format!("refresh token revoked (at {from})")
        }
        Revocation::NotRevoked { reason, .. } => format!("not revoked: {reason}"),
        Revocation::NothingToRevoke => "no refresh token to revoke".into(),
    }
}

/// The accounts of Latchkey's items that no valid profile of `config` reaches, each with
/// every item stored under it. Items of a profile the file holds in an invalid form are
/// listed too, marked [`StraySession::invalid_profile`].
pub async fn find_stray_sessions(
    vault: &Vault,
    config: &Config,
) -> std::result::Result<Vec<StraySession>, StrayError> {
    let listing = {
        let vault = vault.clone();
        tokio::task::spawn_blocking(move || vault.accounts())
            .await
            .map_err(|e| StrayError::Keychain(Error::internal(e)))?
            .map_err(StrayError::Keychain)?
    };
    let Some(items) = listing else {
        return Err(StrayError::CannotList {
            store: vault.store_name().to_owned(),
            service: vault.service().to_owned(),
        });
    };
    Ok(group_strays(items, config))
}

/// Revoke and delete each of `strays` (from [`find_stray_sessions`]) that still no profile
/// of `config` reaches; one outcome each. A refresh token is revoked at the endpoint stored
/// with it, else a profile's with the same issuer and client id, else the one discovery
/// names; without one it is deleted anyway, and the outcome says so.
pub async fn remove_stray_sessions(
    vault: &Vault,
    config: &Config,
    strays: Vec<StraySession>,
) -> Vec<StrayRemoval> {
    let http = crate::http::client(HTTP_TIMEOUT);
    let mut done = Vec::with_capacity(strays.len());
    for stray in strays {
        let outcome = match (kept_because(&stray, config), &http) {
            (Some(reason), _) => StrayOutcome::Kept { reason },
            (None, Ok(http)) => remove_one(vault, config, http, &stray).await,
            (None, Err(e)) => StrayOutcome::Kept {
                reason: e.message().to_owned(),
            },
        };
        done.push(StrayRemoval { stray, outcome });
    }
    done
}

/// Revoke and delete every item of profile `name` that no profile of `config` reaches: what
/// removing a profile (or changing its issuer or client id) leaves. `config` is the file as
/// it is after the change (without `name` when it was removed).
pub async fn remove_sessions_of(
    vault: &Vault,
    config: &Config,
    name: &str,
) -> std::result::Result<Vec<StrayRemoval>, StrayError> {
    let strays = find_stray_sessions(vault, config).await?;
    let of_name = strays.into_iter().filter(|s| s.profile_name == name);
    Ok(remove_stray_sessions(vault, config, of_name.collect()).await)
}

/// Why a stray is not removed now: a profile reaches it (added since it was listed), or a
/// profile of its name is in the file in an invalid form.
fn kept_because(stray: &StraySession, config: &Config) -> Option<String> {
    if let Some(p) = (config.profiles.values()).find(|p| p.keychain_account() == stray.account) {
        return Some(format!("profile `{}` uses it", p.name));
    }
    let name = &stray.profile_name;
    config.invalid.contains_key(name).then(|| {
        format!("profile `{name}` is in the profiles file but invalid; fix it to use this session again, or remove the profile (`latchkey profile remove {name}`, or Remove in Profiles & settings), which removes this too")
    })
}

/// Group item names by the session account they belong to (a chunk `{account}#gen.i` and AWS
/// credentials `{account}:aws` under `{account}`), keeping the accounts no profile reaches.
fn group_strays(items: Vec<String>, config: &Config) -> Vec<StraySession> {
    let reached: Vec<String> = (config.profiles.values())
        .map(|p| p.keychain_account())
        .collect();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in items {
        let base = without_chunk_suffix(&item);
        let account = base.strip_suffix(AWS_SUFFIX).unwrap_or(base).to_owned();
        groups.entry(account).or_default().push(item);
    }
    (groups.into_iter())
        .filter(|(account, _)| !reached.contains(account))
        .filter_map(|(account, mut item_names)| {
            let (name, issuer, client_id) = split_account(&account)?;
            item_names.sort();
            Some(StraySession {
                profile_name: name.to_owned(),
                issuer: issuer.to_owned(),
                client_id: client_id.to_owned(),
                session: item_names.contains(&account),
                aws_credentials: item_names.contains(&aws_account(&account)),
                items: item_names.len(),
                invalid_profile: config.invalid.contains_key(name),
                account,
                item_names,
            })
        })
        .collect()
}

/// `account` of a chunk item `{account}#{gen}.{i}`; any other name as it is.
fn without_chunk_suffix(item: &str) -> &str {
    let Some((base, suffix)) = item.rsplit_once('#') else {
        return item;
    };
    let numbers = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match suffix.split_once('.') {
        Some((gen, i)) if numbers(gen) && numbers(i) => base,
        _ => item,
    }
}

/// `(profile name, issuer, client id)` of a session account `name|issuer|client_id`. The
/// issuer is an http(s) URL and a client id has no `|` in practice; anything else (a probe
/// item) is not a session's.
fn split_account(account: &str) -> Option<(&str, &str, &str)> {
    let start = account
        .find("|http://")
        .or_else(|| account.find("|https://"))?;
    let (name, rest) = (&account[..start], &account[start + 1..]);
    let (issuer, client_id) = rest.rsplit_once('|')?;
    (!name.is_empty() && !client_id.is_empty()).then_some((name, issuer, client_id))
}

/// Revoke the stray's refresh token (if it has one), then delete all of its items, under the
/// locks every write of those accounts takes.
async fn remove_one(
    vault: &Vault,
    config: &Config,
    http: &reqwest::Client,
    stray: &StraySession,
) -> StrayOutcome {
    let _locks = take_locks(vault, stray).await;
    let revocation = match read_session(vault, stray).await {
        Err(reason) => Revocation::NotRevoked {
            because: NotRevokedBecause::UnreadableSession,
            reason,
        },
        Ok(None) => Revocation::NothingToRevoke,
        Ok(Some(stored)) => match &stored.refresh_token {
            None => Revocation::NothingToRevoke,
            Some(token) => revoke(http, config, &stored, token).await,
        },
    };
    match delete_items(vault, stray).await {
        Ok(()) => StrayOutcome::Removed { revocation },
        Err(e) => StrayOutcome::NotRemoved {
            revocation,
            error: e.message().to_owned(),
        },
    }
}

/// The session's and the AWS credentials' locks (in the order a sign-out takes them); a lock
/// that cannot be had is skipped, as sign-out does.
async fn take_locks(vault: &Vault, stray: &StraySession) -> Vec<ProfileLock> {
    if !vault.is_persistent() {
        return Vec::new();
    }
    let mut locks = Vec::new();
    for account in [aws_account(&stray.account), stray.account.clone()] {
        if let Ok(lock) = ProfileLock::acquire(lock_path(vault.service(), &account)).await {
            locks.push(lock);
        }
    }
    locks
}

/// The stray's stored session; `Err` says why it cannot be read.
async fn read_session(
    vault: &Vault,
    stray: &StraySession,
) -> std::result::Result<Option<StoredSession>, String> {
    if !stray.session {
        return Ok(None);
    }
    let (vault, account) = (vault.clone(), stray.account.clone());
    match tokio::task::spawn_blocking(move || vault.load_session(&account)).await {
        Ok(Ok(stored)) => Ok(stored),
        Ok(Err(e)) => Err(format!("the stored session cannot be read ({}); its refresh token stays valid at the provider until it expires", e.message().trim_end_matches('.'))),
        Err(e) => Err(Error::internal(e).message().to_owned()),
    }
}

/// Revoke `token` through core's one revocation request, at the first endpoint known.
async fn revoke(
    http: &reqwest::Client,
    config: &Config,
    stored: &StoredSession,
    token: &RefreshToken,
) -> Revocation {
    let target = match revocation_target(http, config, stored).await {
        Ok(target) => target,
        Err(reason) => {
            return Revocation::NotRevoked {
                because: NotRevokedBecause::UnknownEndpoint,
                reason,
            }
        }
    };
    let sent = token_endpoint::revoke(
        http,
        Some(&target.endpoint),
        &stored.client_id,
        token,
        target.cognito_form,
    )
    .await;
    match sent {
        Ok(()) => Revocation::Revoked {
            endpoint: target.source,
        },
        Err(reason) => Revocation::NotRevoked {
            because: NotRevokedBecause::ProviderFailed,
            reason,
        },
    }
}

/// A revocation endpoint and how to call it.
struct RevocationTarget {
    endpoint: Url,
    source: EndpointSource,
    /// Cognito's form (no `token_type_hint`). The hint is optional (RFC 7009 §2.1), so the
    /// form without it is used unless the provider is known to be a generic OIDC one.
    cognito_form: bool,
}

/// Where to revoke `stored`'s refresh token: the endpoint stored with it, else a profile's
/// with the same issuer and client id, else the issuer's discovery; `Err` says why none.
async fn revocation_target(
    http: &reqwest::Client,
    config: &Config,
    stored: &StoredSession,
) -> std::result::Result<RevocationTarget, String> {
    let stored_endpoint = (stored.revocation_endpoint.as_ref())
        .and_then(|url| validate_endpoint("revocation_endpoint", url.as_str()).ok());
    if let Some(endpoint) = stored_endpoint {
        return Ok(RevocationTarget {
            endpoint,
            source: EndpointSource::StoredWithSession,
            cognito_form: true,
        });
    }
    let twin = (config.profiles.values())
        .find(|p| p.issuer() == stored.issuer && p.client_id == stored.client_id);
    if let Some(profile) = twin {
        let provider = Provider::load(profile, http.clone()).await;
        if let Some(endpoint) = provider.ok().and_then(|p| p.metadata.revocation_endpoint) {
            return Ok(RevocationTarget {
                endpoint,
                source: EndpointSource::Profile {
                    name: profile.name.clone(),
                },
                cognito_form: profile.is_cognito(),
            });
        }
    }
    let unknown = "the provider's revocation endpoint is unknown; the refresh token stays valid at the provider until it expires";
    match discovered_endpoint(http, &stored.issuer).await {
        Ok(Some(endpoint)) => Ok(RevocationTarget {
            endpoint,
            source: EndpointSource::Discovery,
            cognito_form: false,
        }),
        Ok(None) => Err(format!(
            "{unknown} (the issuer's discovery document names none)"
        )),
        Err(e) => Err(format!(
            "{unknown} (the issuer's discovery document could not be read: {})",
            e.message().trim_end_matches('.')
        )),
    }
}

/// The `revocation_endpoint` of `issuer`'s discovery document, if it names one.
async fn discovered_endpoint(http: &reqwest::Client, issuer: &str) -> Result<Option<Url>> {
    let url = discovery_url(issuer)?;
    let (doc, _) = get_json(http, &url, "the discovery document", DISCOVERY_LIMIT).await?;
    Ok(ProviderMetadata::from_discovery(&doc, issuer)?.revocation_endpoint)
}

/// Delete the session (with its chunks), the AWS credentials, then any item left of the
/// listing (chunks no header names any more). The first failure is returned, after trying all.
async fn delete_items(vault: &Vault, stray: &StraySession) -> Result<()> {
    let vault = vault.clone();
    let mut accounts = vec![stray.account.clone(), aws_account(&stray.account)];
    accounts.extend(stray.item_names.iter().cloned());
    tokio::task::spawn_blocking(move || {
        let mut first_error = None;
        for account in accounts {
            if let Err(e) = vault.delete(&account) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    })
    .await
    .map_err(Error::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    fn config_with(profiles: &[Profile]) -> Config {
        let mut config = Config::default();
        for p in profiles {
            config.insert(p.clone());
        }
        config
    }

    #[test]
    fn items_group_under_their_session_account_and_reached_ones_are_left_out() {
        let kept = Profile::oidc("kept", Url::parse("https://id.example").unwrap(), "c1");
        let account = "old|https://id.example|c0";
        let items = [
            kept.keychain_account(),
            account.to_owned(),
            format!("{account}#3.0"),
            format!("{account}#3.1"),
            format!("{account}:aws"),
            format!("{account}:aws#2.0"),
            "aws-only|https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x|c:aws".to_owned(),
            "probe-4242".to_owned(),
        ];
        let strays = group_strays(items.to_vec(), &config_with(&[kept]));
        let summary: Vec<_> = strays
            .iter()
            .map(|s| {
                let fields = (
                    s.profile_name.as_str(),
                    s.issuer.as_str(),
                    s.client_id.as_str(),
                );
                (fields, s.session, s.aws_credentials, s.items)
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    (
                        "aws-only",
                        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x",
                        "c"
                    ),
                    false,
                    true,
                    1
                ),
                (("old", "https://id.example", "c0"), true, true, 5),
            ]
        );
    }

    #[test]
    fn a_chunk_suffix_is_only_hash_generation_dot_index() {
        assert_eq!(without_chunk_suffix("a|https://i|c#12.0"), "a|https://i|c");
        assert_eq!(
            without_chunk_suffix("a|https://i|c#x.0"),
            "a|https://i|c#x.0"
        );
        assert_eq!(without_chunk_suffix("a|https://i|c#1"), "a|https://i|c#1");
        assert_eq!(
            split_account("my|name|https://i/p|client"),
            Some(("my|name", "https://i/p", "client"))
        );
        assert_eq!(split_account("probe-1"), None);
    }

    #[test]
    fn items_of_an_invalid_profile_are_marked_and_kept() {
        let mut config = Config::default();
        config.invalid.insert(
            "broken".into(),
            crate::config::ConfigError::NoConfigDir, // any error: only the name matters here
        );
        let strays = group_strays(vec!["broken|https://i|c".into()], &config);
        assert!(strays[0].invalid_profile);
        assert!(kept_because(&strays[0], &config).is_some());
    }
}
