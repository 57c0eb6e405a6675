//! The names of the verification checks and their outcomes: what the inspector lists and what
//! a refused token reports (`Error::failed_check()`), so callers and tests match on a name.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One verification step. Serialised in `snake_case` (`at_hash`, `same_identity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// The token is a well-formed JWS compact token.
    Format,
    /// The token is within Latchkey's size limit.
    Size,
    /// The header's `typ` is `JWT` or absent (not an access token's `at+jwt`).
    Typ,
    /// The header has no `crit` extension Latchkey would have to understand.
    Crit,
    /// The signing algorithm is on Latchkey's allow-list and advertised by the provider.
    Alg,
    /// The signing key is unambiguous (`kid` rules of OIDC Core 10.1).
    Kid,
    /// The signature verifies with the provider's key.
    Signature,
    Iss,
    Sub,
    Aud,
    Azp,
    Exp,
    Iat,
    Nbf,
    Nonce,
    AtHash,
    /// Cognito: `token_use` is `id` (or `access` for access tokens).
    TokenUse,
    /// Cognito access tokens: `client_id` is this app's.
    ClientId,
    /// A refreshed ID token names the same issuer, subject and audience (OIDC Core 12.2).
    SameIdentity,
    /// A refreshed ID token's `auth_time`, when it has one, is the original sign-in's (OIDC
    /// Core 12.2): a refresh is not a new authentication.
    AuthTime,
    /// A userinfo response is about the signed-in user (`sub` equal to the ID token's).
    UserinfoSub,
    /// A pasted sign-in callback carries this sign-in's `state` (the listener refuses a
    /// browser's wrong `state` with a 400 and keeps waiting).
    State,
}

impl CheckName {
    /// The name as shown to people and serialised (`at_hash`).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Format => "format",
            CheckName::Size => "size",
            CheckName::Typ => "typ",
            CheckName::Crit => "crit",
            CheckName::Alg => "alg",
            CheckName::Kid => "kid",
            CheckName::Signature => "signature",
            CheckName::Iss => "iss",
            CheckName::Sub => "sub",
            CheckName::Aud => "aud",
            CheckName::Azp => "azp",
            CheckName::Exp => "exp",
            CheckName::Iat => "iat",
            CheckName::Nbf => "nbf",
            CheckName::Nonce => "nonce",
            CheckName::AtHash => "at_hash",
            CheckName::TokenUse => "token_use",
            CheckName::ClientId => "client_id",
            CheckName::SameIdentity => "same_identity",
            CheckName::AuthTime => "auth_time",
            CheckName::UserinfoSub => "userinfo_sub",
            CheckName::State => "state",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One verification step and its outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: CheckName,
    pub passed: bool,
    pub reason: String,
}

impl Check {
    pub(crate) fn ok(name: CheckName, reason: impl Into<String>) -> Check {
        Check {
            name,
            passed: true,
            reason: reason.into(),
        }
    }
    pub(crate) fn fail(name: CheckName, reason: impl Into<String>) -> Check {
        Check {
            name,
            passed: false,
            reason: reason.into(),
        }
    }
}

/// The checks of one token, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Checks(pub(crate) Vec<Check>);

impl Checks {
    pub(crate) fn push(&mut self, check: Check) {
        self.0.push(check);
    }
    pub(crate) fn ok(&mut self, name: CheckName, reason: impl Into<String>) {
        self.push(Check::ok(name, reason));
    }
    pub(crate) fn fail(&mut self, name: CheckName, reason: impl Into<String>) {
        self.push(Check::fail(name, reason));
    }
    pub(crate) fn first_failure(&self) -> Option<&Check> {
        self.0.iter().find(|c| !c.passed)
    }
    /// `Ok` when every check passed; else the first failure as a verification error.
    pub(crate) fn into_result(self, token: &str) -> Result<Vec<Check>> {
        match self.first_failure() {
            None => Ok(self.0),
            Some(c) => Err(Error::check_failed(token, c.name, &c.reason)),
        }
    }
}
