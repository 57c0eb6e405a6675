//! Decoding any JWT for display: header, claims with human times and explanations, and which
//! checks passed or failed. Nothing here is trusted for decisions.

use chrono::Utc;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::utc;
use crate::config::Expectation;
use crate::error::{CheckName, Error, ErrorKind, Result};
use crate::verify::{
    decode_jwt, Alg, Check, ExpectationCheck, GivenKeyVerifier, GivenKeys, ALLOWED_ALGS,
};

/// One claim of an inspected token, as the inspector lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimRow {
    /// The claim's name as in the payload (`exp`, `cognito:groups`).
    pub name: String,
    /// The claim's value, the JSON as sent.
    pub value: Value,
    /// A readable form (times as UTC and relative), when different from the raw value.
    pub human: Option<String>,
    /// What the claim means, for the registered JWT/OIDC claims and Cognito's; `None` for others.
    pub explanation: Option<String>,
}

/// What kind of token an inspection is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// An ID token: Cognito's `token_use` is `id`, or it has `nonce` or `at_hash`, or the
    /// session's ID token was asked for.
    Id,
    /// An access token: Cognito's `token_use` is `access`, or the session's access token was
    /// asked for.
    Access,
    /// The claims do not tell (e.g. a generic provider's access token inspected offline); every
    /// expectation then applies.
    Unknown,
}

/// A token decoded for display: its header, claims, the checks run on it and the user's
/// expectations. Nothing in it is trusted for decisions.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// Whether it is an ID or an access token; decides which of a profile's expectations apply.
    pub kind: TokenKind,
    /// The JOSE header as sent (`alg`, `kid`, `typ`, …).
    pub header: Map<String, Value>,
    /// One row per claim of the payload.
    pub claims: Vec<ClaimRow>,
    /// The verification checks in the order they ran: offline `alg`, `signature` (failed: not
    /// verified), `exp` and `iat` if present; with a session's or the user's keys, the full checks.
    pub checks: Vec<Check>,
    /// The user's assertions about this token (the profile's `expect` list, `--expect`).
    pub expectations: Vec<ExpectationCheck>,
    /// Why the signature could not be checked against the provider's keys, when verification
    /// was asked for and could not happen (provider or keys unavailable, an access token the
    /// client cannot verify); the signature check then fails. Not part of the serialised form.
    #[serde(skip)]
    pub unverified_because: Option<String>,
}

impl Inspection {
    /// Judge `expectations` against this token's claims, after any judged before.
    pub fn judge(&mut self, expectations: &[Expectation]) {
        let claims: Map<String, Value> = self
            .claims
            .iter()
            .map(|c| (c.name.clone(), c.value.clone()))
            .collect();
        self.expectations
            .extend(expectations.iter().map(|e| e.judge(&claims)));
    }

    /// Judge those of a profile's expectations that are about this kind of token
    /// ([`Expectation::applies_to`]).
    pub fn judge_applicable(&mut self, expectations: &[Expectation]) {
        let applicable: Vec<Expectation> = expectations
            .iter()
            .filter(|e| e.applies_to(self.kind))
            .cloned()
            .collect();
        self.judge(&applicable);
    }

    /// Every verification check and every expectation passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed) && self.expectations.iter().all(|e| e.passed)
    }

    /// The keys could not be had: the signature check says why it was not verified.
    pub(crate) fn not_verified(&mut self, why: &Error) {
        if let Some(check) = self
            .checks
            .iter_mut()
            .find(|c| c.name == CheckName::Signature)
        {
            check.reason = format!("not verified: {}", why.message());
        }
        self.unverified_because = Some(why.message().to_owned());
    }

    /// A generic provider's access token: opaque to the client by contract, so its signature
    /// stays unverified (its API verifies it).
    pub(crate) fn opaque_access_token(&mut self) {
        self.unverified_because = Some(
            "an OpenID Connect provider's access token is for its API to verify; the client has no key or audience for it".into(),
        );
    }
}

fn explain(name: &str) -> Option<&'static str> {
    Some(match name {
        "iss" => "Issuer: who issued the token",
        "sub" => "Subject: the user's stable id at the issuer",
        "aud" => "Audience: the client(s) the token is for",
        "azp" => "Authorized party: the client the token was issued to",
        "exp" => "Expires at",
        "iat" => "Issued at",
        "nbf" => "Not valid before",
        "auth_time" => "When the user last signed in with credentials",
        "nonce" => "Value from the sign-in request, binds the token to it",
        "at_hash" => "Hash of the access token issued with this ID token",
        "amr" => "Authentication methods: how the user proved who they are (RFC 8176)",
        "token_use" => "Cognito: which kind of token this is (id or access)",
        "client_id" => "Cognito access token: the app client it was issued to",
        "scope" => "Scopes granted to the access token",
        "cognito:username" => "Cognito user name",
        "cognito:groups" => {
            "Cognito groups the user belongs to (API Gateway and your backend authorize on them)"
        }
        "cognito:roles" => {
            "Cognito: IAM roles of the user's groups (an identity pool may let the user pick one)"
        }
        "cognito:preferred_role" => "Cognito: the IAM role of the user's highest-precedence group",
        "identities" => {
            "Cognito: the external identity providers (Google, SAML…) linked to this user; a federated user signs in through them"
        }
        "email" => "E-mail address",
        "email_verified" => "Whether the e-mail address was verified",
        "jti" => "Unique token id",
        "origin_jti" => "Cognito: id of the original authentication (kept across refreshes)",
        "event_id" => "Cognito: id of the authentication event",
        "username" => "User name",
        "kid" => "Key id: which provider key signed the token",
        "alg" => "Signature algorithm",
        "typ" => "Token type",
        _ => return None,
    })
}

/// A readable form of the Cognito claims that need one: groups, IAM roles, federated
/// identities and authentication methods.
fn reading(name: &str, value: &Value) -> Option<String> {
    let strings = || -> Vec<&str> {
        value
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    match name {
        "cognito:groups" => {
            let groups = strings();
            let mut text = match groups.len() {
                1 => "1 group".to_owned(),
                n => format!("{n} groups"),
            };
            for (g, provider) in groups.iter().filter_map(|g| Some((g, federated_group(g)?))) {
                text.push_str(&format!(
                    "; `{g}` is the group Cognito adds for users of the {provider} provider"
                ));
            }
            Some(text)
        }
        "cognito:roles" => {
            let roles: Vec<String> = strings().into_iter().map(role).collect();
            (!roles.is_empty()).then(|| roles.join("; "))
        }
        "cognito:preferred_role" => value.as_str().map(role),
        "identities" => {
            let list = value.as_array()?;
            let described: Vec<String> = list
                .iter()
                .map(|i| {
                    let text = |k: &str| match i.get(k) {
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(Value::Number(n)) => Some(n.to_string()),
                        _ => None,
                    };
                    let provider = text("providerName").unwrap_or_else(|| "?".into());
                    let kind = text("providerType").filter(|t| *t != provider);
                    let mut line = format!(
                        "{provider}{} user {}",
                        kind.map(|k| format!(" ({k})")).unwrap_or_default(),
                        text("userId").unwrap_or_else(|| "?".into())
                    );
                    if text("primary").as_deref() == Some("true") {
                        line.push_str(", primary");
                    }
                    let created = text("dateCreated")
                        .and_then(|ms| ms.parse::<i64>().ok())
                        .and_then(|ms| chrono::DateTime::from_timestamp(ms / 1000, 0));
                    if let Some(t) = created {
                        line.push_str(&format!(", linked {}", t.format("%Y-%m-%d")));
                    }
                    line
                })
                .collect();
            (!described.is_empty()).then(|| described.join("; "))
        }
        "amr" => {
            let methods: Vec<String> = strings()
                .into_iter()
                .map(|m| match method(m) {
                    Some(meaning) => format!("{m}: {meaning}"),
                    None => m.to_owned(),
                })
                .collect();
            (!methods.is_empty()).then(|| methods.join("; "))
        }
        _ => None,
    }
}

/// The provider of Cognito's automatic group for federated users: `<pool id>_<provider>`,
/// the pool id being `<region>_<id>` (`eu-west-1_zwqFAay0e_Google` → `Google`).
fn federated_group(group: &str) -> Option<&str> {
    let mut parts = group.splitn(3, '_');
    let (region, pool, provider) = (parts.next()?, parts.next()?, parts.next()?);
    let region_like = region.split('-').count() >= 3
        && region
            .chars()
            .all(|c| c == '-' || c.is_ascii_lowercase() || c.is_ascii_digit());
    let pool_like = !pool.is_empty() && pool.chars().all(|c| c.is_ascii_alphanumeric());
    (region_like && pool_like && !provider.is_empty()).then_some(provider)
}

/// `arn:aws:iam::123456789012:role/Admins` → "role Admins in account 123456789012".
fn role(arn: &str) -> String {
    let mut parts = arn.splitn(6, ':');
    match (parts.nth(4), parts.next()) {
        (Some(account), Some(resource)) if resource.starts_with("role/") => format!(
            "role {} in account {account}",
            resource.rsplit('/').next().unwrap_or(resource)
        ),
        _ => arn.to_owned(),
    }
}

/// Authentication method references (RFC 8176), and what Cognito identity pools put in `amr`.
fn method(value: &str) -> Option<&'static str> {
    Some(match value {
        "pwd" => "password",
        "otp" => "one-time code (e.g. an authenticator app)",
        "mfa" => "multiple factors",
        "sms" => "code sent by SMS",
        "tel" => "telephone call",
        "hwk" => "hardware-secured key (e.g. a passkey or security key)",
        "swk" => "software-secured key",
        "pop" => "proof of possession of a key",
        "face" => "facial recognition",
        "fpt" => "fingerprint",
        "pin" => "PIN",
        "kba" => "knowledge-based questions",
        "sc" => "smart card",
        "user" => "user presence test",
        "wia" => "Windows integrated authentication",
        "authenticated" => "identity pool: an authenticated identity",
        "unauthenticated" => "identity pool: a guest identity",
        _ => return None,
    })
}

/// A time difference for people: `in 5 min`, `2 h 3 min ago`, `in 30 days`.
pub fn relative(delta: i64) -> String {
    let a = delta.unsigned_abs();
    let s = if a < 60 {
        format!("{a} s")
    } else if a < 3600 {
        format!("{} min", a / 60)
    } else if a < 86400 * 2 {
        format!("{} h {} min", a / 3600, (a % 3600) / 60)
    } else {
        format!("{} days", a / 86400)
    };
    if delta >= 0 {
        format!("in {s}")
    } else {
        format!("{s} ago")
    }
}

/// Decode `token` and verify it against keys the user gave (jwt.io's job, offline but for
/// fetching a JWKS URL's keys): the signature and the token's times. `Err` when the keys
/// cannot be had or are not keys.
pub async fn inspect_with_keys(
    token: &str,
    keys: &GivenKeys,
    now: Option<i64>,
) -> Result<Inspection> {
    let now = now.unwrap_or_else(|| Utc::now().timestamp());
    let mut insp = inspect_jwt(token, Some(now))?;
    let keys = keys.load(std::time::Duration::from_secs(15)).await?;
    insp.checks = GivenKeyVerifier::new(&keys, now).checks(token).await?;
    Ok(insp)
}

/// Decode `token` for display. `now` (Unix seconds) adds relative times and time checks.
pub fn inspect_jwt(token: &str, now: Option<i64>) -> Result<Inspection> {
    let jwt = decode_jwt(token)
        .map_err(|e| Error::new(ErrorKind::Verification, format!("cannot inspect: {e}.")))?;
    let now = now.unwrap_or_else(|| Utc::now().timestamp());
    let claims = jwt
        .claims()
        .iter()
        .map(|(name, value)| ClaimRow {
            name: name.clone(),
            value: value.clone(),
            human: match name.as_str() {
                "exp" | "iat" | "nbf" | "auth_time" => jwt.claim_time(name).map(|t| {
                    format!(
                        "{} ({})",
                        utc(t).format("%Y-%m-%d %H:%M:%S UTC"),
                        relative(t.saturating_sub(now))
                    )
                }),
                _ => reading(name, value),
            },
            explanation: explain(name).map(str::to_owned),
        })
        .collect();
    let mut checks = vec![match jwt.alg() {
        Some(a) if Alg::parse(a).is_some() => Check::ok(
            CheckName::Alg,
            format!("{a} is an accepted asymmetric algorithm"),
        ),
        Some(a) => Check::fail(
            CheckName::Alg,
            format!(
                "`{a}` is not accepted (allowed: {})",
                ALLOWED_ALGS.join(", ")
            ),
        ),
        None => Check::fail(CheckName::Alg, "no `alg` in the header"),
    }];
    checks.push(Check::fail(CheckName::Signature, "not verified (offline inspection; signed-in tokens are verified against the provider's keys)"));
    checks.push(match jwt.claim_time("exp") {
        Some(exp) if now < exp => Check::ok(
            CheckName::Exp,
            format!("valid, expires {}", relative(exp.saturating_sub(now))),
        ),
        Some(exp) => Check::fail(
            CheckName::Exp,
            format!("expired {}", relative(exp.saturating_sub(now))),
        ),
        None => Check::fail(CheckName::Exp, "no valid `exp` claim"),
    });
    if let Some(iat) = jwt.claim_time("iat") {
        checks.push(Check {
            name: CheckName::Iat,
            passed: iat <= now.saturating_add(60),
            reason: format!("issued {}", relative(iat.saturating_sub(now))),
        });
    }
    let kind = match jwt.claim_str("token_use") {
        Some("id") => TokenKind::Id,
        Some("access") => TokenKind::Access,
        _ if jwt.claims().contains_key("nonce") || jwt.claims().contains_key("at_hash") => {
            TokenKind::Id
        }
        _ => TokenKind::Unknown,
    };
    Ok(Inspection {
        kind,
        header: jwt.header().clone(),
        claims,
        checks,
        expectations: Vec::new(),
        unverified_because: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn human(name: &str, value: Value) -> String {
        reading(name, &value).unwrap_or_default()
    }

    #[test]
    fn cognito_claims_read_as_people_say_them() {
        assert_eq!(
            human("cognito:groups", json!(["users", "eu-west-1_zwqFAay0e_Google"])),
            "2 groups; `eu-west-1_zwqFAay0e_Google` is the group Cognito adds for users of the Google provider"
        );
        assert_eq!(human("cognito:groups", json!(["my_team_a"])), "1 group");
        assert_eq!(
            human(
                "cognito:preferred_role",
                json!("arn:aws:iam::123456789012:role/Admins")
            ),
            "role Admins in account 123456789012"
        );
        assert_eq!(
            human(
                "cognito:roles",
                json!(["arn:aws:iam::123456789012:role/path/Admins", "not-an-arn"])
            ),
            "role Admins in account 123456789012; not-an-arn"
        );
        assert_eq!(
            human(
                "identities",
                json!([{"userId": "1093", "providerName": "Google", "providerType": "Google",
                        "issuer": null, "primary": "true", "dateCreated": "1555128389392"}])
            ),
            "Google user 1093, primary, linked 2019-04-13"
        );
        assert_eq!(
            human("amr", json!(["pwd", "otp", "mfa", "x-custom"])),
            "pwd: password; otp: one-time code (e.g. an authenticator app); mfa: multiple factors; x-custom"
        );
        assert_eq!(reading("email", &json!("a@b")), None);
    }

    #[test]
    fn expectations_are_judged_on_the_decoded_claims() {
        let mut insp = Inspection {
            kind: TokenKind::Id,
            header: Map::new(),
            claims: vec![ClaimRow {
                name: "cognito:groups".into(),
                value: json!(["admins"]),
                human: None,
                explanation: None,
            }],
            checks: vec![],
            expectations: vec![],
            unverified_because: None,
        };
        let profile: Vec<Expectation> = ["group=admins", "scope=orders/read"]
            .iter()
            .map(|e| e.parse().unwrap())
            .collect();
        insp.judge_applicable(&profile);
        assert_eq!(
            insp.expectations.len(),
            1,
            "scopes are judged on access tokens"
        );
        assert!(insp.passed());
        insp.judge(&["group=billing".parse().unwrap()]);
        assert!(!insp.passed());
    }
}
