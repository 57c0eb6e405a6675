//! The provider's endpoints (from discovery, or derived the Cognito way) and its signing keys
//! (a JWKS cache that re-fetches once, rate-limited, when a token names an unknown `kid`).

use std::time::{Duration, Instant};

use openidconnect::core::{CoreJsonWebKey, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JwsSigningAlgorithm};
use serde::Serialize;
use url::Url;

use crate::config::{Profile, ProfileKind};
use crate::error::{Error, ErrorKind, Result};

/// After a re-fetch for an unknown `kid`, further re-fetches wait this long (penalty box).
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// The endpoints Latchkey uses.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub userinfo_endpoint: Option<Url>,
    pub end_session_endpoint: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    pub jwks_uri: Url,
    /// RFC 9207: when true, an authorization response without `iss` is rejected.
    pub authorization_response_iss_parameter_supported: bool,
    /// Cognito's hosted sign-up page (same parameters as authorize).
    pub signup_endpoint: Option<Url>,
    /// Cognito's non-standard `/logout` (client_id + logout_uri) instead of OIDC RP-initiated logout.
    pub cognito_logout: bool,
}

/// Check a URL string taken from the provider before anything uses it: no control characters
/// or whitespace (the URL parser would silently drop some), https or loopback http only.
pub fn validate_endpoint(field: &str, raw: &str) -> Result<Url> {
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::new(
            ErrorKind::ProviderError,
            format!("the provider's `{field}` contains control characters or spaces; refusing to use it. The discovery document is broken or tampered with: check the issuer URL."),
        ));
    }
    let u = Url::parse(raw).map_err(|_| {
        Error::new(
            ErrorKind::ProviderError,
            format!(
                "the provider's `{field}` is not a valid URL; check the issuer URL in the profile."
            ),
        )
    })?;
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let ok = match u.scheme() {
        "https" => true,
        "http" => loopback,
        _ => false,
    };
    if !ok || !u.username().is_empty() || u.password().is_some() || u.host_str().is_none() {
        return Err(Error::new(
            ErrorKind::ProviderError,
            format!("the provider's `{field}` ({}://…) is not an https URL (plain http is accepted only for a loopback development provider); refusing to use it.", u.scheme()),
        ));
    }
    Ok(u)
}

impl ProviderMetadata {
    /// Cognito: endpoints on the hosted-UI domain, keys on the issuer host.
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
            issuer,
            authorization_response_iss_parameter_supported: false,
            cognito_logout: true,
        })
    }

    /// Parse a discovery document and check it belongs to `expected_issuer` (exact string match).
    pub fn from_discovery(doc: &serde_json::Value, expected_issuer: &str) -> Result<Self> {
        let s = |k: &str| doc.get(k).and_then(|v| v.as_str());
        let issuer = s("issuer").ok_or_else(|| {
            Error::new(ErrorKind::ProviderError, "the discovery document has no `issuer`; this is not an OpenID Connect provider configuration. Check the issuer URL.")
        })?;
        if issuer != expected_issuer {
            return Err(Error::new(
                ErrorKind::Verification,
                format!("the discovery document belongs to issuer `{issuer}`, not to the configured `{expected_issuer}` (OIDC Discovery §4.3). Set the profile's issuer to exactly what the provider publishes, or check that the URL is the right provider."),
            ));
        }
        let req = |k: &str| -> Result<Url> {
            let raw = s(k).ok_or_else(|| {
                Error::new(ErrorKind::ProviderError, format!("the discovery document has no `{k}`; Latchkey needs it for the authorization-code flow."))
            })?;
            validate_endpoint(k, raw)
        };
        let opt = |k: &str| -> Result<Option<Url>> {
            match s(k) {
                None => Ok(None),
                Some(raw) => validate_endpoint(k, raw).map(Some),
            }
        };
        Ok(Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: req("authorization_endpoint")?,
            token_endpoint: req("token_endpoint")?,
            jwks_uri: req("jwks_uri")?,
            userinfo_endpoint: opt("userinfo_endpoint")?,
            end_session_endpoint: opt("end_session_endpoint")?,
            revocation_endpoint: opt("revocation_endpoint")?,
            authorization_response_iss_parameter_supported: doc
                .get("authorization_response_iss_parameter_supported")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            signup_endpoint: None,
            cognito_logout: false,
        })
    }
}

#[derive(Default)]
struct JwksState {
    keys: Vec<CoreJsonWebKey>,
    fetched: bool,
    last_refetch: Option<Instant>,
}

/// Endpoints plus the key cache. One per session.
pub struct Provider {
    pub metadata: ProviderMetadata,
    http: reqwest::Client,
    jwks: tokio::sync::Mutex<JwksState>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("metadata", &self.metadata)
            .finish()
    }
}

pub(crate) async fn get_json(
    http: &reqwest::Client,
    url: &Url,
    what: &str,
) -> Result<serde_json::Value> {
    let resp = http
        .get(url.clone())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| Error::from_http(what, &e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(Error::new(
            ErrorKind::ProviderError,
            format!(
                "the provider answered HTTP {} for {what}; check the profile's issuer/domain.",
                status.as_u16()
            ),
        ));
    }
    resp.json().await.map_err(|_| {
        Error::new(
            ErrorKind::ProviderError,
            format!("the provider's {what} is not valid JSON; check the profile's issuer/domain."),
        )
    })
}

impl Provider {
    /// Discovery for OIDC profiles; derived endpoints for Cognito.
    pub async fn load(profile: &Profile, http: reqwest::Client) -> Result<Provider> {
        let metadata = match &profile.kind {
            ProfileKind::Cognito { .. } => ProviderMetadata::cognito(profile)?,
            ProfileKind::Oidc { .. } => {
                let issuer = profile.issuer();
                let url = validate_endpoint(
                    "issuer",
                    &format!(
                        "{}/.well-known/openid-configuration",
                        issuer.trim_end_matches('/')
                    ),
                )?;
                tracing::debug!(%url, "fetching discovery document");
                let doc = get_json(&http, &url, "the discovery document").await?;
                ProviderMetadata::from_discovery(&doc, &issuer)?
            }
        };
        Ok(Self::new(metadata, http))
    }

    pub fn new(metadata: ProviderMetadata, http: reqwest::Client) -> Provider {
        Provider {
            metadata,
            http,
            jwks: tokio::sync::Mutex::new(JwksState::default()),
        }
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    async fn fetch_jwks(&self) -> Result<Vec<CoreJsonWebKey>> {
        tracing::debug!(url = %self.metadata.jwks_uri, "fetching JWKS");
        let doc = get_json(
            &self.http,
            &self.metadata.jwks_uri,
            "the signing keys (JWKS)",
        )
        .await?;
        // Unusable or unknown keys are skipped (RFC 7517 §5), not fatal.
        let set: CoreJsonWebKeySet = serde_json::from_value(doc).map_err(|_| {
            Error::new(
                ErrorKind::ProviderError,
                "the provider's JWKS is not a JSON Web Key Set; check the issuer.",
            )
        })?;
        Ok(set.keys().clone())
    }

    /// Keys that may have signed a token with this `kid`/`alg`. Re-fetches the JWKS once when
    /// the `kid` is unknown, at most every [`JWKS_REFETCH_INTERVAL`].
    pub async fn candidate_keys(
        &self,
        kid: Option<&str>,
        alg: &CoreJwsSigningAlgorithm,
    ) -> Result<Vec<CoreJsonWebKey>> {
        let mut st = self.jwks.lock().await;
        if !st.fetched {
            st.keys = self.fetch_jwks().await?;
            st.fetched = true;
        }
        let matching = |keys: &[CoreJsonWebKey]| -> Vec<CoreJsonWebKey> {
            keys.iter()
                .filter(|k| match kid {
                    Some(kid) => k.key_id().map(|id| id.as_str() == kid).unwrap_or(false),
                    None => true,
                })
                .filter(|k| alg.key_type().as_ref() == Some(k.key_type()))
                .cloned()
                .collect()
        };
        let found = matching(&st.keys);
        if !found.is_empty() {
            return Ok(found);
        }
        let may_refetch = st
            .last_refetch
            .map(|t| t.elapsed() >= JWKS_REFETCH_INTERVAL)
            .unwrap_or(true);
        if may_refetch {
            tracing::debug!("signing key not in the cached JWKS; re-fetching once");
            st.last_refetch = Some(Instant::now());
            st.keys = self.fetch_jwks().await?;
            let found = matching(&st.keys);
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Err(Error::verification(format!(
            "no signing key {} in the provider's JWKS{}",
            kid.map(|k| format!("with kid `{k}`"))
                .unwrap_or_else(|| "of the right type".into()),
            if may_refetch {
                " (re-fetched)"
            } else {
                " (re-fetch is rate-limited; try again in a few seconds)"
            }
        )))
    }

    /// Number of JWKS keys cached (for diagnostics).
    pub async fn cached_key_count(&self) -> usize {
        self.jwks.lock().await.keys.len()
    }
}
