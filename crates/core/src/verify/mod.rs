//! Token verification: one builder per token kind (like `openidconnect`'s `IdTokenVerifier`)
//! runs named checks ([`CheckName`]) over header, key, signature and claims, for sign-in,
//! refresh and the inspector alike. A refused token says which check failed.

mod check;
mod claims;
mod expect;
mod given;
mod jwt;
mod keys;

use crate::config::Profile;
use crate::error::{CheckName, Error, Result};
use crate::provider::Provider;

pub use check::Check;
pub(crate) use check::Checks;
pub use expect::ExpectationCheck;
pub use given::GivenKeys;
pub use jwt::{decode_jwt, DecodeError, Jwt, MAX_TOKEN_BYTES};
pub(crate) use keys::KeyChoice;
pub use keys::{Alg, Jwk, JwkSet, ALLOWED_ALGS};

use claims::Window;
use given::GivenKeySet;

/// A sanity bound on a fresh ID token's age (`iat`), against replayed old tokens.
pub const DEFAULT_MAX_IAT_AGE: i64 = 24 * 3600;

/// Who a session is about: what a refreshed ID token must repeat (OIDC Core 12.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    /// When the user authenticated (the sign-in's `auth_time`), if the provider said.
    pub auth_time: Option<i64>,
}

/// Where a verifier finds the signing keys.
#[derive(Clone, Copy)]
pub(crate) enum KeySource<'a> {
    /// The provider's JWKS (cached; re-fetched once for an unknown `kid`).
    Provider(&'a Provider),
    /// Keys the user gave for a pasted token (a JWKS URL, a JWKS document, a PEM key).
    Given(&'a GivenKeySet),
}

impl KeySource<'_> {
    /// The key, a refusal by the key rules, or an error fetching the keys.
    async fn key_for(&self, kid: Option<&str>, alg: Alg, now: i64) -> Result<Result<Jwk, String>> {
        match self {
            KeySource::Provider(p) => p.signing_key(kid, alg, now).await,
            KeySource::Given(keys) => Ok(keys.key_for(kid, alg)),
        }
    }
}

/// Which `typ` header values a token kind accepts (compared case-insensitively).
#[derive(Debug, Clone, Copy)]
enum Typ {
    /// ID tokens: `JWT` or none (an `at+jwt` access token is not an ID token).
    IdToken,
    /// Access tokens: `JWT`, `at+jwt` (RFC 9068) or none.
    AccessToken,
}

/// The header, key and signature checks every signed token goes through.
struct Signed<'a> {
    keys: KeySource<'a>,
    now: i64,
    /// The algorithms the provider advertises, intersected with Latchkey's allow-list.
    algs: &'a [String],
}

/// A decoded token with the algorithm and key it verified with (when it did).
struct Decoded {
    jwt: Jwt,
    verified_with: Option<Alg>,
}

impl<'a> Signed<'a> {
    /// Tokens signed by `provider`'s keys with an algorithm it advertises.
    fn by(provider: &'a Provider, now: i64) -> Self {
        Signed {
            keys: KeySource::Provider(provider),
            now,
            algs: &provider.metadata.id_token_signing_algs,
        }
    }

    async fn check(&self, token: &str, typ: Typ, checks: &mut Checks) -> Result<Option<Decoded>> {
        let jwt = match decode_jwt(token) {
            Ok(jwt) => jwt,
            Err(e @ DecodeError::TooLarge { .. }) => {
                checks.fail(CheckName::Size, e.to_string());
                return Ok(None);
            }
            Err(e) => {
                checks.fail(CheckName::Format, e.to_string());
                return Ok(None);
            }
        };
        self.check_typ(&jwt, typ, checks);
        if jwt.header.contains_key("crit") {
            checks.fail(
                CheckName::Crit,
                "the header has a `crit` extension Latchkey does not understand",
            );
        }
        let Some(alg) = self.check_alg(&jwt, checks) else {
            return Ok(Some(Decoded {
                jwt,
                verified_with: None,
            }));
        };
        let verified_with = match self.keys.key_for(jwt.kid(), alg, self.now).await? {
            Err(why) => {
                checks.fail(CheckName::Kid, why);
                None
            }
            Ok(key) => {
                let kid = key.kid().unwrap_or("(no kid)").to_owned();
                checks.ok(CheckName::Kid, format!("key `{kid}` ({})", key.kty()));
                let verified = key.verifies(alg, jwt.signing_input.as_bytes(), &jwt.signature);
                match (verified, self.keys) {
                    (true, KeySource::Provider(_)) => {
                        checks.ok(CheckName::Signature, format!("valid ({alg}, key `{kid}`)"))
                    }
                    (true, KeySource::Given(keys)) => checks.ok(
                        CheckName::Signature,
                        format!("valid ({alg}, key `{kid}` of {})", keys.origin),
                    ),
                    (false, KeySource::Provider(_)) => checks.fail(CheckName::Signature, "the signature does not match the provider's key: the token was altered or not issued by this provider"),
                    (false, KeySource::Given(keys)) => checks.fail(
                        CheckName::Signature,
                        format!("the signature does not match {}: the token was altered or signed with another key", keys.origin),
                    ),
                }
                verified.then_some(alg)
            }
        };
        Ok(Some(Decoded { jwt, verified_with }))
    }

    fn check_typ(&self, jwt: &Jwt, typ: Typ, checks: &mut Checks) {
        let Some(value) = jwt.header.get("typ") else {
            return;
        };
        let accepted: &[&str] = match typ {
            Typ::IdToken => &["JWT", "application/jwt"],
            Typ::AccessToken => &["JWT", "application/jwt", "at+jwt", "application/at+jwt"],
        };
        match value.as_str() {
            Some(t) if accepted.iter().any(|a| a.eq_ignore_ascii_case(t)) => {
                checks.ok(CheckName::Typ, format!("`{t}`"))
            }
            Some(t) => checks.fail(
                CheckName::Typ,
                format!(
                    "the header says `typ: {t}`; a token of this kind must say {} or nothing (an `at+jwt` is an access token)",
                    accepted.join(" or ")
                ),
            ),
            None => checks.fail(CheckName::Typ, "the header's `typ` is not a string"),
        }
    }

    fn check_alg(&self, jwt: &Jwt, checks: &mut Checks) -> Option<Alg> {
        let name = match jwt.header.get("alg") {
            None => {
                checks.fail(CheckName::Alg, "the header has no `alg`");
                return None;
            }
            Some(v) => v.as_str().unwrap_or_default(),
        };
        let refusal = match Alg::parse(name) {
            _ if name == "none" => "`alg` is `none`: the token is unsigned".to_string(),
            _ if name.starts_with("HS") => format!("`{name}` is a shared-secret algorithm; a public client has no secret, so such a token proves nothing"),
            None => format!("`{name}` is not a signing algorithm Latchkey accepts ({})", ALLOWED_ALGS.join(", ")),
            Some(alg) if !self.algs.iter().any(|a| a == alg.as_str()) => format!(
                "`{name}` is not among the algorithms the provider advertises ({}); a token signed otherwise is not the provider's",
                self.algs.join(", ")
            ),
            Some(alg) => {
                let why = match self.keys {
                    KeySource::Provider(_) => "advertised by the provider",
                    KeySource::Given(_) => "an accepted asymmetric algorithm",
                };
                checks.ok(CheckName::Alg, format!("{alg}, {why}"));
                return Some(alg);
            }
        };
        checks.fail(CheckName::Alg, refusal);
        None
    }
}

/// Verifies ID tokens for one profile and provider. Build with [`IdTokenVerifier::new`], add
/// what this token must match (`nonce`, `access_token`, `same_identity_as`), then `verify`.
/// A sign-in's and a refresh's answers differ only in those additions (see
/// `session::answer`).
pub(crate) struct IdTokenVerifier<'a> {
    signed: Signed<'a>,
    issuer: &'a str,
    client_id: &'a str,
    window: Window,
    cognito: bool,
    nonce: Option<&'a str>,
    access_token: Option<&'a str>,
    previous: Option<&'a Identity>,
}

impl<'a> IdTokenVerifier<'a> {
    /// The profile's settings: issuer, client id, leeway, Cognito rules, advertised algorithms.
    pub fn new(provider: &'a Provider, profile: &'a Profile, now: i64) -> Self {
        IdTokenVerifier {
            signed: Signed::by(provider, now),
            issuer: &provider.metadata.issuer,
            client_id: &profile.client_id,
            window: Window::of(profile, now, Some(DEFAULT_MAX_IAT_AGE)),
            cognito: profile.is_cognito(),
            nonce: None,
            access_token: None,
            previous: None,
        }
    }

    /// The token answers this sign-in's request.
    pub fn nonce(mut self, nonce: &'a str) -> Self {
        self.nonce = Some(nonce);
        self
    }
    /// The access token issued with it (checked against `at_hash` when present).
    pub fn access_token(mut self, access_token: &'a str) -> Self {
        self.access_token = Some(access_token);
        self
    }
    /// A refreshed token must name the same identity, authenticated at the same time.
    pub fn same_identity_as(mut self, previous: &'a Identity) -> Self {
        self.previous = Some(previous);
        self
    }
    /// Bound on the age of `iat` (`None`: any age; the inspector looks at old tokens too).
    pub fn max_iat_age(mut self, secs: Option<i64>) -> Self {
        self.window.max_iat_age = secs;
        self
    }

    /// Every check, passed or failed, for the inspector. `Err` only when the keys could not
    /// be fetched.
    pub async fn checks(&self, token: &str) -> Result<(Vec<Check>, Option<Jwt>)> {
        let mut checks = Checks::default();
        let decoded = self.signed.check(token, Typ::IdToken, &mut checks).await?;
        let Some(Decoded { jwt, verified_with }) = decoded else {
            return Ok((checks.0, None));
        };
        // A refreshed token naming someone else is that, before it is a wrong `iss` or `aud`.
        if let Some(previous) = self.previous {
            claims::same_identity(&jwt, previous, &mut checks);
            claims::same_auth_time(&jwt, previous.auth_time, &mut checks);
        }
        claims::issuer(&jwt, self.issuer, &mut checks);
        claims::subject(&jwt, &mut checks);
        claims::audience(&jwt, self.client_id, &mut checks);
        claims::times(&jwt, self.window, &mut checks);
        if let Some(nonce) = self.nonce {
            claims::nonce(&jwt, nonce, &mut checks);
        }
        if let (Some(alg), Some(access_token)) = (verified_with, self.access_token) {
            claims::access_token_hash(&jwt, alg, access_token, &mut checks);
        }
        if self.cognito {
            claims::token_use(&jwt, "id", &mut checks);
        }
        Ok((checks.0, Some(jwt)))
    }

    /// `Ok` only when every check passed; else the first failure, by name.
    pub async fn verify(&self, token: &str) -> Result<VerifiedIdToken> {
        let (checks, jwt) = self.checks(token).await?;
        let checks = Checks(checks).into_result("ID token")?;
        let jwt = jwt.ok_or_else(|| Error::internal("a verified ID token without claims"))?;
        VerifiedIdToken::new(jwt, checks)
    }
}

/// Verifies Cognito access tokens: signature, `iss`, times, `token_use = access`, `client_id`.
pub(crate) struct AccessTokenVerifier<'a> {
    signed: Signed<'a>,
    issuer: &'a str,
    client_id: &'a str,
    window: Window,
}

impl<'a> AccessTokenVerifier<'a> {
    pub fn new(provider: &'a Provider, profile: &'a Profile, now: i64) -> Self {
        AccessTokenVerifier {
            signed: Signed::by(provider, now),
            issuer: &provider.metadata.issuer,
            client_id: &profile.client_id,
            window: Window::of(profile, now, None),
        }
    }

    pub async fn checks(&self, token: &str) -> Result<Vec<Check>> {
        let mut checks = Checks::default();
        let decoded = self
            .signed
            .check(token, Typ::AccessToken, &mut checks)
            .await?;
        if let Some(Decoded { jwt, .. }) = decoded {
            claims::issuer(&jwt, self.issuer, &mut checks);
            claims::times(&jwt, self.window, &mut checks);
            claims::token_use(&jwt, "access", &mut checks);
            claims::client_id(&jwt, self.client_id, &mut checks);
        }
        Ok(checks.0)
    }

    pub async fn verify(&self, token: &str) -> Result<Vec<Check>> {
        Checks(self.checks(token).await?).into_result("access token")
    }
}

/// Verifies a pasted token against keys the user gave: header, key, signature and times.
/// Issuer and audience are not judged (no profile says what they must be); the inspector
/// shows them as claims.
pub(crate) struct GivenKeyVerifier<'a> {
    signed: Signed<'a>,
    window: Window,
}

impl<'a> GivenKeyVerifier<'a> {
    pub fn new(keys: &'a GivenKeySet, now: i64) -> Self {
        GivenKeyVerifier {
            signed: Signed {
                keys: KeySource::Given(keys),
                now,
                algs: &keys.algs,
            },
            window: Window {
                now,
                leeway: 60,
                max_iat_age: None,
            },
        }
    }

    pub async fn checks(&self, token: &str) -> Result<Vec<Check>> {
        let mut checks = Checks::default();
        let decoded = self
            .signed
            .check(token, Typ::AccessToken, &mut checks)
            .await?;
        if let Some(Decoded { jwt, .. }) = decoded {
            claims::times(&jwt, self.window, &mut checks);
        }
        Ok(checks.0)
    }
}

/// An ID token that passed every check, with what the session needs from it.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedIdToken {
    pub jwt: Jwt,
    pub checks: Vec<Check>,
    pub identity: Identity,
    pub exp: i64,
    pub iat: i64,
}

impl VerifiedIdToken {
    fn new(jwt: Jwt, checks: Vec<Check>) -> Result<Self> {
        let missing = |what: &str| Error::internal(format!("verified ID token without {what}"));
        let identity = Identity {
            iss: jwt
                .string_claim("iss")
                .map_err(|_| missing("iss"))?
                .to_owned(),
            sub: jwt
                .string_claim("sub")
                .map_err(|_| missing("sub"))?
                .to_owned(),
            aud: jwt.audiences().map_err(|_| missing("aud"))?,
            auth_time: jwt.numeric_date("auth_time").ok(),
        };
        let exp = jwt.numeric_date("exp").map_err(|_| missing("exp"))?;
        let iat = jwt.numeric_date("iat").map_err(|_| missing("iat"))?;
        Ok(VerifiedIdToken {
            jwt,
            checks,
            identity,
            exp,
            iat,
        })
    }
}
