//! The authorization request: PKCE S256 (always), independent random `state` and `nonce`, and
//! a URL that is checked before any browser sees it.

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use url::Url;

use crate::config::Profile;
use crate::error::{Error, ErrorKind, Result};
use crate::provider::ProviderMetadata;
use crate::secret::Nonce;

/// Everything the flow must remember between opening the browser and redeeming the code.
pub struct AuthorizationRequest {
    pub url: Url,
    pub redirect_uri: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub pkce_verifier: PkceCodeVerifier,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL carries state, nonce and challenge: keep it out of Debug output.
        f.debug_struct("AuthorizationRequest")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// Build the authorize (or Cognito sign-up) URL for `redirect_uri`.
pub fn build_request(
    metadata: &ProviderMetadata,
    profile: &Profile,
    redirect_uri: &str,
    signup: bool,
) -> Result<AuthorizationRequest> {
    let (challenge, verifier, state) = loop {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        // C8: state must never equal the verifier (it travels through the browser).
        if state.secret() != verifier.secret() {
            break (challenge, verifier, state);
        }
    };
    let nonce = Nonce::new_random();
    let endpoint = match (&metadata.signup_endpoint, signup) {
        (Some(s), true) => s.clone(),
        _ => metadata.authorization_endpoint.clone(),
    };
    let mut url = endpoint;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &profile.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &profile.scopes.join(" "))
            .append_pair("state", state.secret())
            .append_pair("nonce", nonce.expose())
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256");
        if let Some(idp) = &profile.identity_provider {
            q.append_pair("identity_provider", idp);
        }
        if signup && metadata.signup_endpoint.is_none() {
            q.append_pair("prompt", "create");
        } else if !profile.is_cognito() && profile.scopes.iter().any(|s| s == "offline_access") {
            // OIDC Core §11: offline_access is honoured only with prompt=consent; without it a
            // conforming provider drops the scope and issues no refresh token.
            q.append_pair("prompt", "consent");
        }
    }
    validate_browser_url(&url)?;
    Ok(AuthorizationRequest {
        url,
        redirect_uri: redirect_uri.to_owned(),
        state,
        nonce,
        pkce_verifier: verifier,
    })
}

/// C7: only https (or http to a loopback development provider), no control characters, no
/// shell metacharacters that matter (the URL is passed as one argv element anyway).
pub fn validate_browser_url(url: &Url) -> Result<()> {
    let s = url.as_str();
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok {
        return Err(Error::new(ErrorKind::Browser, format!("refusing to open a `{}:` URL: only https (or http to a loopback development provider) is opened in the browser. Check the provider's authorization endpoint.", url.scheme())));
    }
    if s.chars().any(|c| {
        c.is_control()
            || c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '`' | '<' | '>' | '\\' | '|' | '^' | '{' | '}'
            )
    }) || s.starts_with('-')
    {
        return Err(Error::new(ErrorKind::Browser, "refusing to open the authorization URL: it contains control or shell characters. Check the provider's authorization endpoint."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ProviderMetadata {
        let p = Profile::cognito(
            "t",
            "eu-west-1",
            "eu-west-1_abc",
            Url::parse("https://x.auth.eu-west-1.amazoncognito.com").unwrap(),
            "cid",
        );
        ProviderMetadata::cognito(&p).unwrap()
    }

    #[test]
    fn b2_every_request_uses_s256_with_a_fresh_long_verifier() {
        let p = Profile::cognito(
            "t",
            "eu-west-1",
            "eu-west-1_abc",
            Url::parse("https://x.auth.eu-west-1.amazoncognito.com").unwrap(),
            "cid",
        );
        let a = build_request(&meta(), &p, "http://localhost:53682/callback", false).unwrap();
        let b = build_request(&meta(), &p, "http://localhost:53682/callback", false).unwrap();
        let q: std::collections::HashMap<_, _> = a.url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(q["code_challenge"].len() >= 43);
        let v = a.pkce_verifier.secret();
        assert!((43..=128).contains(&v.len()));
        assert_ne!(a.pkce_verifier.secret(), b.pkce_verifier.secret());
        assert_ne!(a.state.secret(), b.state.secret());
        assert_ne!(a.state.secret(), a.nonce.expose());
        // C8: the state is not the verifier
        assert_ne!(a.state.secret(), a.pkce_verifier.secret());
        assert_eq!(q["state"], *a.state.secret());
        assert_eq!(q["scope"], "openid email profile");
    }

    #[test]
    fn c7_non_https_and_control_characters_refused() {
        assert!(validate_browser_url(&Url::parse("file:///etc/passwd").unwrap()).is_err());
        assert!(
            validate_browser_url(&Url::parse("http://evil.example/authorize").unwrap()).is_err()
        );
        assert!(
            validate_browser_url(&Url::parse("https://ok.example/authorize?x=1").unwrap()).is_ok()
        );
        assert!(validate_browser_url(&Url::parse("http://127.0.0.1:9/authorize").unwrap()).is_ok());
        assert!(crate::provider::validate_endpoint(
            "authorization_endpoint",
            "https://a.example/x\n$(reboot)"
        )
        .is_err());
        assert!(crate::provider::validate_endpoint(
            "authorization_endpoint",
            "javascript:alert(1)"
        )
        .is_err());
    }
}
