//! The provider: its endpoints (from discovery, or derived the Cognito way, checked before
//! anything uses them), its signing keys (`jwks`) and the live "test connection" (`probe`).

mod jwks;
mod probe;

use serde::Serialize;
use url::Url;

use crate::config::{Profile, ProfileKind};
use crate::error::{CheckName, Error, Result};
use crate::http::{get_json, DISCOVERY_LIMIT};

pub use jwks::JWKS_REFETCH_INTERVAL;
pub use probe::{probe, ProbeReport, ProbeStatus, ProbeStep};

use jwks::JwksCache;

/// The endpoints and promises Latchkey uses.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The issuer exactly as the provider publishes it (the profile's, or discovery refuses it);
    /// an ID token's `iss` must equal it.
    pub issuer: String,
    /// Where the browser is sent to sign in: discovery's `authorization_endpoint`, or Cognito's
    /// `/oauth2/authorize` on the hosted-UI domain.
    pub authorization_endpoint: Url,
    /// Where codes and refresh tokens are exchanged for tokens: discovery's `token_endpoint`, or
    /// Cognito's `/oauth2/token`.
    pub token_endpoint: Url,
    /// The OIDC UserInfo endpoint: discovery's `userinfo_endpoint`, or Cognito's
    /// `/oauth2/userInfo`; `None` when discovery names none.
    pub userinfo_endpoint: Option<Url>,
    /// Where sign-out sends the browser: discovery's `end_session_endpoint` (OIDC RP-initiated
    /// logout) or Cognito's `/logout`; `None` when discovery names none.
    pub end_session_endpoint: Option<Url>,
    /// Where a refresh token is revoked (RFC 7009): discovery's `revocation_endpoint`, or Cognito's
    /// `/oauth2/revoke`; `None` when discovery names none.
    pub revocation_endpoint: Option<Url>,
    /// Where the signing keys (JWKS) are fetched: discovery's `jwks_uri`, or
    /// `{issuer}/.well-known/jwks.json` for Cognito.
    pub jwks_uri: Url,
    /// `id_token_signing_alg_values_supported`: only these algorithms are accepted.
    pub id_token_signing_algs: Vec<String>,
    /// RFC 9207: when true, an authorization response without `iss` is rejected.
    pub authorization_response_iss_parameter_supported: bool,
    /// Cognito's hosted sign-up page (same parameters as authorize).
    pub signup_endpoint: Option<Url>,
    /// Cognito's non-standard `/logout` (client_id + logout_uri) instead of OIDC RP-initiated logout.
    pub cognito_logout: bool,
}

/// Check a URL string taken from the provider before anything uses it: no control characters
/// or whitespace (the URL parser would silently drop some), https or loopback http only.
pub(crate) fn validate_endpoint(field: &str, raw: &str) -> Result<Url> {
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::provider(format!("the provider's `{field}` contains control characters or spaces; refusing to use it. The discovery document is broken or tampered with: check the issuer URL.")));
    }
    let u = Url::parse(raw).map_err(|_| {
        Error::provider(format!(
            "the provider's `{field}` is not a valid URL; check the issuer URL in the profile."
        ))
    })?;
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let ok = match u.scheme() {
        "https" => true,
        "http" => loopback,
        _ => false,
    };
    if !ok || !u.username().is_empty() || u.password().is_some() || u.host_str().is_none() {
        return Err(Error::provider(format!("the provider's `{field}` ({}://…) is not an https URL (plain http is accepted only for a loopback development provider); refusing to use it.", u.scheme())));
    }
    Ok(u)
}

/// What an OIDC provider signs ID tokens with when discovery does not say (OIDC Core 3.1.3.7).
const DEFAULT_ID_TOKEN_ALG: &str = "RS256";

impl ProviderMetadata {
    /// Cognito: endpoints on the hosted-UI domain, keys on the issuer host, RS256 only.
    pub fn cognito(profile: &Profile) -> Result<Self> {
        let ProfileKind::Cognito { domain, .. } = &profile.kind else {
            return Err(Error::internal(
                "cognito metadata for a non-Cognito profile",
            ));
        };
        let base = domain.as_str().trim_end_matches('/');
        let issuer = profile.issuer();
        let ep = |field: &str, path: &str| validate_endpoint(field, &format!("{base}{path}"));
        Ok(Self {
            authorization_endpoint: ep("authorization_endpoint", "/oauth2/authorize")?,
            token_endpoint: ep("token_endpoint", "/oauth2/token")?,
            userinfo_endpoint: Some(ep("userinfo_endpoint", "/oauth2/userInfo")?),
            end_session_endpoint: Some(ep("end_session_endpoint", "/logout")?),
            revocation_endpoint: Some(ep("revocation_endpoint", "/oauth2/revoke")?),
            signup_endpoint: Some(ep("signup", "/signup")?),
            jwks_uri: validate_endpoint("jwks_uri", &format!("{issuer}/.well-known/jwks.json"))?,
            id_token_signing_algs: vec![DEFAULT_ID_TOKEN_ALG.into()],
            issuer,
            authorization_response_iss_parameter_supported: false,
            cognito_logout: true,
        })
    }

    /// Parse a discovery document and check it belongs to `expected_issuer` (exact string match).
    pub fn from_discovery(doc: &serde_json::Value, expected_issuer: &str) -> Result<Self> {
        let s = |k: &str| doc.get(k).and_then(|v| v.as_str());
        let issuer = s("issuer").ok_or_else(|| {
            Error::provider("the discovery document has no `issuer`; this is not an OpenID Connect provider configuration. Check the issuer URL.")
        })?;
        if issuer != expected_issuer {
            return Err(Error::refused(
                CheckName::Iss,
                &format!("the discovery document belongs to issuer `{issuer}`, not to the configured `{expected_issuer}` (OIDC Discovery §4.3). Set the profile's issuer to exactly what the provider publishes, or check that the URL is the right provider."),
            ));
        }
        let req = |k: &str| -> Result<Url> {
            let raw = s(k).ok_or_else(|| {
                Error::provider(format!("the discovery document has no `{k}`; Latchkey needs it for the authorization-code flow."))
            })?;
            validate_endpoint(k, raw)
        };
        let opt = |k: &str| -> Result<Option<Url>> {
            s(k).map(|raw| validate_endpoint(k, raw)).transpose()
        };
        let algs: Vec<String> = doc
            .get("id_token_signing_alg_values_supported")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_else(|| vec![DEFAULT_ID_TOKEN_ALG.into()]);
        Ok(Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: req("authorization_endpoint")?,
            token_endpoint: req("token_endpoint")?,
            jwks_uri: req("jwks_uri")?,
            userinfo_endpoint: opt("userinfo_endpoint")?,
            end_session_endpoint: opt("end_session_endpoint")?,
            revocation_endpoint: opt("revocation_endpoint")?,
            id_token_signing_algs: algs,
            authorization_response_iss_parameter_supported: doc
                .get("authorization_response_iss_parameter_supported")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            signup_endpoint: None,
            cognito_logout: false,
        })
    }
}

/// The discovery document's URL for an issuer.
pub(crate) fn discovery_url(issuer: &str) -> Result<Url> {
    validate_endpoint(
        "issuer",
        &format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ),
    )
}

/// Endpoints plus the key cache. One per session.
pub struct Provider {
    /// The provider's endpoints, each checked (https, or http on loopback) before anything uses it.
    pub metadata: ProviderMetadata,
    http: reqwest::Client,
    jwks: JwksCache,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl Provider {
    /// Discovery for OIDC profiles; derived endpoints for Cognito.
    pub async fn load(profile: &Profile, http: reqwest::Client) -> Result<Provider> {
        let metadata = match &profile.kind {
            ProfileKind::Cognito { .. } => ProviderMetadata::cognito(profile)?,
            ProfileKind::Oidc { .. } => {
                let issuer = profile.issuer();
                let url = discovery_url(&issuer)?;
                tracing::debug!(%url, "fetching discovery document");
                let (doc, _) =
                    get_json(&http, &url, "the discovery document", DISCOVERY_LIMIT).await?;
                ProviderMetadata::from_discovery(&doc, &issuer)?
            }
        };
        Ok(Self::new(metadata, http))
    }

    /// A provider with these endpoints and an empty key cache: the keys are fetched from `jwks_uri`
    /// when a token first needs one. Makes no request.
    pub fn new(metadata: ProviderMetadata, http: reqwest::Client) -> Provider {
        let jwks = JwksCache::new(metadata.jwks_uri.clone());
        Provider {
            metadata,
            http,
            jwks,
        }
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The key that signed a token with this `kid` and `alg` at `now` (the outer `Err`: the
    /// keys could not be fetched; the inner one: the key rules refuse, with the reason).
    pub(crate) async fn signing_key(
        &self,
        kid: Option<&str>,
        alg: crate::verify::Alg,
        now: i64,
    ) -> Result<std::result::Result<crate::verify::Jwk, String>> {
        self.jwks.signing_key(&self.http, kid, alg, now).await
    }

    /// Number of usable keys cached (for diagnostics).
    pub async fn cached_key_count(&self) -> usize {
        self.jwks.cached_key_count().await
    }
}
