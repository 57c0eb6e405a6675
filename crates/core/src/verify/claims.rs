//! The claim checks of ID and access tokens: issuer, subject, audience, times (with a defined
//! leeway and checked arithmetic), nonce, `at_hash`, Cognito's `token_use` and `client_id`, and
//! the same-identity and same-`auth_time` rules for refreshed ID tokens.

use base64::Engine;

use super::check::Checks;
use super::jwt::{ClaimProblem, Jwt, B64};
use super::keys::Alg;
use super::Identity;
use crate::config::Profile;
use crate::error::CheckName;
use crate::inspect::relative;
use crate::secret::constant_time_eq;

/// `iss` equals the configured issuer, by exact string comparison.
pub(super) fn issuer(jwt: &Jwt, expected: &str, checks: &mut Checks) {
    match jwt.string_claim("iss") {
        Ok(iss) if iss == expected => checks.ok(CheckName::Iss, "matches the configured issuer"),
        Ok(iss) => checks.fail(
            CheckName::Iss,
            format!("issuer `{iss}` is not the configured `{expected}`"),
        ),
        Err(p) => checks.fail(CheckName::Iss, p.describe("iss")),
    }
}

pub(super) fn subject(jwt: &Jwt, checks: &mut Checks) {
    match jwt.string_claim("sub") {
        Ok(s) if !s.is_empty() => checks.ok(CheckName::Sub, "present"),
        Ok(_) => checks.fail(CheckName::Sub, "`sub` is empty: the token names no user"),
        Err(ClaimProblem::Missing) => {
            checks.fail(CheckName::Sub, "no `sub` claim: the token names no user")
        }
        Err(p) => checks.fail(CheckName::Sub, p.describe("sub")),
    }
}

/// `aud` includes the client id; with other audiences too, `azp` must name this client.
pub(super) fn audience(jwt: &Jwt, client_id: &str, checks: &mut Checks) {
    let auds = match jwt.audiences() {
        Ok(a) if a.is_empty() => return checks.fail(CheckName::Aud, "`aud` is an empty list"),
        Ok(a) => a,
        Err(p) => return checks.fail(CheckName::Aud, p.describe("aud")),
    };
    if auds.iter().any(|a| a == client_id) {
        checks.ok(CheckName::Aud, "includes this app's client id");
    } else {
        checks.fail(
            CheckName::Aud,
            "the audience does not include this app's client id: the token was issued to another app",
        );
    }
    let others = auds.iter().any(|a| a != client_id);
    match jwt.string_claim("azp") {
        Ok(azp) if azp == client_id => checks.ok(CheckName::Azp, "is this app's client id"),
        Ok(_) => checks.fail(CheckName::Azp, "`azp` names another client"),
        Err(ClaimProblem::Missing) if others => checks.fail(
            CheckName::Azp,
            "`aud` lists other clients too, but `azp` is missing",
        ),
        Err(ClaimProblem::Missing) => {}
        Err(p) => checks.fail(CheckName::Azp, p.describe("azp")),
    }
}

/// The time window a token is checked in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub now: i64,
    pub leeway: i64,
    /// Refuse an `iat` older than this (`None`: `iat` is not required).
    pub max_iat_age: Option<i64>,
}

impl Window {
    /// `now` with the profile's clock leeway.
    pub fn of(profile: &Profile, now: i64, max_iat_age: Option<i64>) -> Window {
        Window {
            now,
            leeway: i64::try_from(profile.clock_leeway.as_secs()).unwrap_or(i64::MAX),
            max_iat_age,
        }
    }
}

pub(super) fn times(jwt: &Jwt, w: Window, checks: &mut Checks) {
    let Window { now, leeway, .. } = w;
    match jwt.numeric_date("exp") {
        Ok(exp) if now >= exp.saturating_add(leeway) => checks.fail(
            CheckName::Exp,
            format!(
                "expired {} (leeway {leeway} s)",
                relative(exp.saturating_sub(now))
            ),
        ),
        Ok(exp) => checks.ok(
            CheckName::Exp,
            format!("valid, expires {}", relative(exp.saturating_sub(now))),
        ),
        Err(p) => checks.fail(CheckName::Exp, p.describe("exp")),
    }
    match (jwt.numeric_date("iat"), w.max_iat_age) {
        (Err(ClaimProblem::Missing), None) => {}
        (Err(p), _) => checks.fail(CheckName::Iat, p.describe("iat")),
        (Ok(iat), _) if iat > now.saturating_add(leeway) => checks.fail(
            CheckName::Iat,
            format!(
                "issued {} (leeway {leeway} s): the clocks disagree",
                relative(iat.saturating_sub(now))
            ),
        ),
        (Ok(iat), Some(max_age)) if now.saturating_sub(iat) > max_age => checks.fail(
            CheckName::Iat,
            format!(
                "issued {}, longer ago than the {max_age} s sanity bound",
                relative(iat.saturating_sub(now))
            ),
        ),
        (Ok(iat), _) => checks.ok(
            CheckName::Iat,
            format!("issued {}", relative(iat.saturating_sub(now))),
        ),
    }
    match jwt.numeric_date("nbf") {
        Err(ClaimProblem::Missing) => {}
        Err(p) => checks.fail(CheckName::Nbf, p.describe("nbf")),
        Ok(nbf) if nbf > now.saturating_add(leeway) => checks.fail(
            CheckName::Nbf,
            format!("not valid until {}", relative(nbf.saturating_sub(now))),
        ),
        Ok(_) => checks.ok(CheckName::Nbf, "already valid"),
    }
}

pub(super) fn nonce(jwt: &Jwt, expected: &str, checks: &mut Checks) {
    match jwt.string_claim("nonce") {
        Ok(n) if constant_time_eq(n.as_bytes(), expected.as_bytes()) => {
            checks.ok(CheckName::Nonce, "matches this sign-in")
        }
        Ok(_) => checks.fail(
            CheckName::Nonce,
            "`nonce` does not match this sign-in (replayed or injected token)",
        ),
        Err(ClaimProblem::Missing) => checks.fail(
            CheckName::Nonce,
            "no `nonce` claim although the sign-in sent one (replayed or injected token)",
        ),
        Err(p) => checks.fail(CheckName::Nonce, p.describe("nonce")),
    }
}

/// `at_hash`, when present, is the left half of the access token's hash (OIDC Core 3.1.3.6).
pub(super) fn access_token_hash(jwt: &Jwt, alg: Alg, access_token: &str, checks: &mut Checks) {
    match jwt.string_claim("at_hash") {
        Err(ClaimProblem::Missing) => {}
        Err(p) => checks.fail(CheckName::AtHash, p.describe("at_hash")),
        Ok(at_hash) => {
            let digest = alg.digest(access_token.as_bytes());
            if B64.encode(&digest[..digest.len() / 2]) == at_hash {
                checks.ok(CheckName::AtHash, "matches the access token")
            } else {
                checks.fail(
                    CheckName::AtHash,
                    "`at_hash` does not match the access token that came with it (swapped or altered token)",
                )
            }
        }
    }
}

/// Cognito's `token_use` is `expected` (`id` or `access`).
pub(super) fn token_use(jwt: &Jwt, expected: &str, checks: &mut Checks) {
    match jwt.string_claim("token_use") {
        Ok(u) if u == expected => checks.ok(CheckName::TokenUse, expected),
        Ok(u) => checks.fail(
            CheckName::TokenUse,
            format!("Cognito `token_use` is `{u}`, expected `{expected}`: this is the wrong kind of token"),
        ),
        Err(p) => checks.fail(CheckName::TokenUse, p.describe("token_use")),
    }
}

/// Cognito access tokens carry the app client in `client_id` (they have no `aud`).
pub(super) fn client_id(jwt: &Jwt, expected: &str, checks: &mut Checks) {
    match jwt.string_claim("client_id") {
        Ok(c) if c == expected => checks.ok(CheckName::ClientId, "this app's client id"),
        Ok(_) => checks.fail(
            CheckName::ClientId,
            "the access token was issued to another client",
        ),
        Err(p) => checks.fail(CheckName::ClientId, p.describe("client_id")),
    }
}

/// A refreshed ID token names the same issuer, subject and audience (OIDC Core 12.2).
pub(super) fn same_identity(jwt: &Jwt, previous: &Identity, checks: &mut Checks) {
    let changed: Vec<&str> = [
        (
            "iss",
            jwt.string_claim("iss").ok() != Some(previous.iss.as_str()),
        ),
        (
            "sub",
            jwt.string_claim("sub").ok() != Some(previous.sub.as_str()),
        ),
        ("aud", jwt.audiences().ok().as_ref() != Some(&previous.aud)),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
    .collect();
    if changed.is_empty() {
        checks.ok(
            CheckName::SameIdentity,
            "iss, sub and aud match the original sign-in",
        );
    } else {
        checks.fail(
            CheckName::SameIdentity,
            format!(
                "the provider returned a token for another identity: `{}` differs from the original sign-in (OIDC Core 12.2)",
                changed.join("`, `")
            ),
        );
    }
}

/// A refreshed ID token's `auth_time`, when both it and the original have one, is the
/// original's (OIDC Core 12.2): a refresh is not a new authentication.
pub(super) fn same_auth_time(jwt: &Jwt, original: Option<i64>, checks: &mut Checks) {
    let Some(original) = original else { return };
    match jwt.numeric_date("auth_time") {
        Err(ClaimProblem::Missing) => {}
        Ok(t) if t == original => checks.ok(CheckName::AuthTime, "the original sign-in's"),
        Ok(t) => checks.fail(
            CheckName::AuthTime,
            format!(
                "`auth_time` moved by {} s from the original sign-in's: a refresh must not claim a new authentication (OIDC Core 12.2)",
                t.saturating_sub(original)
            ),
        ),
        Err(p) => checks.fail(CheckName::AuthTime, p.describe("auth_time")),
    }
}
